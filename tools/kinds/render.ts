/** A compact text table for `content[0].text`: header, separator, at most `maxRows` rows. */
export function textTable(columns: readonly string[], rows: readonly (readonly unknown[])[], maxRows = 20): string {
  const cell = (v: unknown) => (v === null || v === undefined ? "NULL" : String(v)).replace(/\s+/g, " ").slice(0, 40);
  const lines = [
    columns.join(" | "),
    columns.map(() => "---").join(" | "),
    ...rows.slice(0, maxRows).map((r) => r.map(cell).join(" | ")),
  ];
  if (rows.length > maxRows) lines.push(`… ${rows.length - maxRows} more rows in structuredContent`);
  return lines.join("\n");
}
