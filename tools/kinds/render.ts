/** Whitespace a cell shows as one space: anything but a lone space. */
const SPACING = /[^\S ]| {2}/;

/** A compact text table for `content[0].text`: header, separator, at most `maxRows` rows. */
export function textTable(columns: readonly string[], rows: readonly (readonly unknown[])[], maxRows = 20): string {
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return "NULL";
    const text = String(v);
    // Only whitespace other than single spaces changes under the collapse; most cells have none.
    return (SPACING.test(text) ? text.replace(/\s+/g, " ") : text).slice(0, 40);
  };
  const lines = [
    columns.join(" | "),
    columns.map(() => "---").join(" | "),
    ...rows.slice(0, maxRows).map((r) => r.map(cell).join(" | ")),
  ];
  // ASCII, like the rest of the table's own text: an answer whose cells are ASCII stays a one-byte string, which the
  // answer's JSON, its UTF-8 bytes and the client's parse all handle faster than a two-byte one.
  if (rows.length > maxRows) lines.push(`... ${rows.length - maxRows} more rows in structuredContent`);
  return lines.join("\n");
}
