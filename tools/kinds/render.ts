/** Whitespace a cell shows as one space: anything but a lone space. */
const SPACING = /[^\S ]| {2}/;

/** The most characters of a cell the table shows. */
const CELL_CHARS = 40;

/** A cell as the table shows it: NULL for none, whitespace runs as one space, at most `CELL_CHARS` characters. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  // A number's text has no whitespace and is never longer than 24 characters.
  if (typeof v === "number") return String(v);
  const text = String(v);
  // Only whitespace other than single spaces changes under the collapse; most cells have none.
  return (SPACING.test(text) ? text.replace(/\s+/g, " ") : text).slice(0, CELL_CHARS);
}

/** A compact text table for `content[0].text`: header, separator, at most `maxRows` rows. */
export function textTable(columns: readonly string[], rows: readonly (readonly unknown[])[], maxRows = 20): string {
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
