import { BUILTIN_SCHEMA } from "./builtins.js";
import { DialectError } from "./dialect-error.js";
import { IDENT, pgQuoted, quotedName } from "./identifiers.js";

/** `inline(from_json(<json>, '<schema>')) [AS alias]` read from the text after the word `inline`. */
export interface InlineFromJson {
  /** The JSON text: a `:name` parameter marker, or a string literal as written. */
  json: { parameter: string } | { literal: string };
  /** The struct's fields, with their Databricks types. */
  fields: [name: string, type: string][];
  /** The table alias as written (plain, double-quoted or backticked), if any. */
  alias?: string;
  /** Characters of the text consumed, alias included. */
  length: number;
}

const UNSUPPORTED = "inline is supported only as inline(from_json(:param or 'json', 'ARRAY<STRUCT<name: TYPE, …>>'))";

const CALL = /^\s*\(\s*from_json\s*\(\s*(?::([A-Za-z_]\w*)|('[^'\\]*'))\s*,\s*'([^'\\]*)'\s*\)\s*\)/i;

const ALIAS = new RegExp(`^(\\s+AS)?\\s+(${IDENT})`, "i");

/** Words that may follow a FROM item and are never its alias. */
const NOT_ALIASES = new Set(
  (
    "WHERE JOIN INNER LEFT RIGHT FULL CROSS NATURAL ON USING GROUP ORDER HAVING LIMIT OFFSET UNION EXCEPT INTERSECT " +
    "MINUS WINDOW QUALIFY LATERAL SORT CLUSTER DISTRIBUTE"
  ).split(" "),
);

/** `ARRAY<STRUCT<a: INT, b STRING>>`: the fields of an array of flat structs, as `from_json` takes its schema. */
export function structFields(schema: string): [string, string][] {
  const m = /^\s*ARRAY\s*<\s*STRUCT\s*<(.*)>\s*>\s*$/is.exec(schema);
  if (!m) throw new DialectError("UNSUPPORTED_FEATURE", `${UNSUPPORTED}.`, "0A000");
  const fields: [string, string][] = [];
  for (const part of splitTopLevel(m[1]!)) {
    const field = /^\s*([A-Za-z_]\w*|`(?:[^`]|``)+`)\s*(?::\s*|\s+)(\S.*?)\s*$/s.exec(part);
    const name = field?.[1];
    const type = field?.[2];
    if (!name || !type || /[<>]/.test(type))
      throw new DialectError(
        "INVALID_SCHEMA",
        `Invalid schema for from_json near '${part.trim().slice(0, 64)}': fields are name: TYPE, of flat types.`,
        "42K07",
      );
    fields.push([quotedName(name), type]);
  }
  if (fields.length === 0)
    throw new DialectError("INVALID_SCHEMA", "Invalid schema for from_json: no fields.", "42K07");
  return fields;
}

/** Splits on commas outside parentheses (DECIMAL(10, 2) is one type). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === "(") depth += 1;
    else if (text[i] === ")") depth -= 1;
    else if (text[i] === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Reads `(from_json(…)) [AS alias]` after the word `inline`; anything else is refused as unsupported. */
export function readInlineFromJson(rest: string): InlineFromJson {
  const call = CALL.exec(rest);
  if (!call) throw new DialectError("UNSUPPORTED_FEATURE", `${UNSUPPORTED}.`, "0A000");
  const json = call[1] !== undefined ? { parameter: call[1] } : { literal: call[2]! };
  const fields = structFields(call[3]!);
  let length = call[0].length;
  const alias = ALIAS.exec(rest.slice(length));
  if (alias && (alias[1] !== undefined || !NOT_ALIASES.has(alias[2]!.toUpperCase()))) {
    length += alias[0].length;
    if (/^\s*\(/.test(rest.slice(length)))
      throw new DialectError("UNSUPPORTED_FEATURE", "Column aliases after inline(…) are not supported here.", "0A000");
    return { json, fields, alias: alias[2], length };
  }
  return { json, fields, length };
}

/** A JSON text a TIMESTAMP or DATE field reads: an ISO date, with a time and an offset or not. */
const ISO_DATETIME = String.raw`^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$`;

/**
 * A field's value as `from_json` reads it from the element `v`: STRING takes any value as its text (an object or an
 * array as its JSON), numbers only JSON numbers that fit, BOOLEAN only true or false, dates only ISO text. A value
 * that does not read as its type is null, and the rest of the row is kept (Databricks' partial results).
 */
function fieldValue(name: string, type: string, pg: string): string {
  const key = `'${name.replace(/'/g, "''")}'`;
  const value = `v->${key}`;
  const text = `v->>${key}`;
  const kind = `jsonb_typeof(${value})`;
  const fits = (condition: string) =>
    `CASE WHEN ${condition} AND pg_input_is_valid(${text}, '${pg}') THEN (${text})::${pg} END`;
  const t = type.trim().toUpperCase();
  if (t === "STRING") return text;
  if (t === "BOOLEAN") return `CASE WHEN ${kind} = 'boolean' THEN (${text})::boolean END`;
  if (t === "DATE" || t === "TIMESTAMP") return fits(`${kind} = 'string' AND ${text} ~ '${ISO_DATETIME}'`);
  if (t === "DOUBLE" || t === "FLOAT")
    return fits(`(${kind} = 'number' OR ${text} IN ('NaN', 'Infinity', '-Infinity', '+Infinity'))`);
  return fits(`${kind} = 'number'`);
}

/**
 * The Postgres FROM item for an `inline(from_json(…))`: each array element a row, each struct field a column of its
 * type. `builtin.json_records` reads the text as `from_json` does in its default mode: no rows when the text is not
 * a JSON array, a lone object as an array of one.
 */
export function inlineFromItem(
  jsonText: string,
  fields: [string, string][],
  pgType: (type: string) => string,
  alias?: string,
): string {
  const columns = fields
    .map(([name, type]) => `${fieldValue(name, type, pgType(type))} AS ${pgQuoted(name)}`)
    .join(", ");
  const as = alias === undefined ? "" : ` AS ${alias.startsWith("`") ? pgQuoted(quotedName(alias)) : alias}`;
  return `(SELECT ${columns} FROM jsonb_array_elements(${BUILTIN_SCHEMA}.json_records(${jsonText})) AS e(v))${as}`;
}
