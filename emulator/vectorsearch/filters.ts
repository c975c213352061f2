import { ApiError } from "../http/errors.js";

type Value = string | number;
export type Doc = Record<string, Value>;
/** Whether a column holds numbers or strings, read from the index's documents. */
export type ColumnTypes = ReadonlyMap<string, "number" | "string">;
export type DocFilter = (doc: Doc) => boolean;

const invalid = (message: string) => new ApiError(400, "INVALID_PARAMETER_VALUE", message);
const quote = (text: string) => JSON.stringify(text.slice(0, 64));
const COMPARISONS = {
  "<": (order: number) => order < 0,
  "<=": (order: number) => order <= 0,
  ">": (order: number) => order > 0,
  ">=": (order: number) => order >= 0,
} as const;
const OPERATORS = `NOT, <, <=, >, >=, LIKE, or "column OR column"`;

const wordsOf = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
const order = (a: Value, b: Value) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Compiles `filters_json` in the standard-endpoint syntax: an object whose keys are `column`, `column OP` or
 * `a OR b`, combined with AND (a list of such objects is ANDed too). A column the index lacks, an operator not
 * listed above or a value of the wrong type is a 400 naming the key, never a filter that silently matches nothing.
 */
export function compileFilters(filtersJson: unknown, columns: ColumnTypes): DocFilter {
  if (typeof filtersJson !== "string") throw invalid("filters_json must be a string holding a JSON object.");
  let parsed: unknown;
  try {
    parsed = JSON.parse(filtersJson);
  } catch {
    throw invalid("filters_json is not valid JSON.");
  }
  const objects = Array.isArray(parsed) ? parsed : [parsed];
  const conditions = objects.flatMap((object) => {
    if (!object || typeof object !== "object" || Array.isArray(object))
      throw invalid('filters_json must be a JSON object such as {"category": "policy"} (or a list of them).');
    return Object.entries(object as Record<string, unknown>).map(([key, value]) => condition(key, value, columns));
  });
  return (doc) => conditions.every((matches) => matches(doc));
}

function condition(key: string, value: unknown, columns: ColumnTypes): DocFilter {
  const parts = key.trim().split(/\s+OR\s+/);
  if (parts.length > 1) return anyOf(key, parts, value, columns);
  const [column, op, ...rest] = key.trim().split(/\s+/) as [string, string | undefined, ...string[]];
  if (rest.length > 0 || (op !== undefined && op !== "NOT" && op !== "LIKE" && !(op in COMPARISONS)))
    throw invalid(`Unsupported filter ${quote(key)}: the operators are ${OPERATORS}.`);
  const type = columnType(key, column, columns);
  if (op === "LIKE") return like(key, column, type, value);
  if (op !== undefined && op !== "NOT") {
    const bound = scalar(key, value, type);
    const holds = COMPARISONS[op as keyof typeof COMPARISONS];
    return (doc) => doc[column] !== undefined && holds(order(doc[column], bound));
  }
  const wanted = Array.isArray(value) ? value.map((v) => scalar(key, v, type)) : [scalar(key, value, type)];
  if (wanted.length === 0) throw invalid(`Filter ${quote(key)} needs at least one value.`);
  return op === "NOT" ? (doc) => !wanted.includes(doc[column]!) : (doc) => wanted.includes(doc[column]!);
}

/** `{"a OR b": [x, y]}`: a = x or b = y. */
function anyOf(key: string, parts: string[], value: unknown, columns: ColumnTypes): DocFilter {
  if (parts.some((part) => /\s/.test(part)))
    throw invalid(`Unsupported filter ${quote(key)}: each side of OR must be a column name.`);
  if (!Array.isArray(value) || value.length !== parts.length)
    throw invalid(`Filter ${quote(key)} needs a list of ${parts.length} values, one per column.`);
  const pairs = parts.map((column, i) => [column, scalar(key, value[i], columnType(key, column, columns))] as const);
  return (doc) => pairs.some(([column, wanted]) => doc[column] === wanted);
}

/** LIKE matches whole words of a string column, case-insensitively; `%` makes it a pattern over the whole value. */
function like(key: string, column: string, type: "number" | "string", value: unknown): DocFilter {
  if (type !== "string" || typeof value !== "string" || value.trim() === "")
    throw invalid(`Filter ${quote(key)} needs a non-empty string and a string column.`);
  if (value.includes("%")) {
    const source = value
      .split("%")
      .map((piece) => piece.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join("[\\s\\S]*");
    const pattern = new RegExp(`^${source}$`);
    return (doc) => typeof doc[column] === "string" && pattern.test(doc[column]);
  }
  const words = wordsOf(value);
  return (doc) => {
    const present = new Set(wordsOf(String(doc[column] ?? "")));
    return words.length > 0 && words.every((word) => present.has(word));
  };
}

function columnType(key: string, column: string, columns: ColumnTypes): "number" | "string" {
  const type = columns.get(column);
  if (!type) throw invalid(`Filter ${quote(key)} names a column the index does not have.`);
  return type;
}

function scalar(key: string, value: unknown, type: "number" | "string"): Value {
  if (typeof value !== type || (typeof value === "number" && !Number.isFinite(value)))
    throw invalid(
      `Filter ${quote(key)} needs ${type === "number" ? "a number" : "a string"} (the column holds ${type}s).`,
    );
  return value as Value;
}
