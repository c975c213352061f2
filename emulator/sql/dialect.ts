import type { SqlParameter } from "./engine.js";

/** Thrown for SQL the local engine refuses before Postgres sees it, with the Databricks error class and SQLSTATE. */
export class DialectError extends Error {
  constructor(
    readonly errorClass: string,
    message: string,
    readonly sqlState = "42000",
  ) {
    super(message);
  }
}

const PG_TYPES: Record<string, string> = {
  STRING: "text",
  INT: "integer",
  INTEGER: "integer",
  BIGINT: "bigint",
  LONG: "bigint",
  SMALLINT: "smallint",
  DOUBLE: "double precision",
  FLOAT: "real",
  BOOLEAN: "boolean",
  DATE: "date",
  TIMESTAMP: "timestamptz",
};

function pgType(type: string | undefined): string {
  const t = (type ?? "STRING").trim().toUpperCase();
  const decimal = /^DECIMAL\s*\(\s*(\d{1,2})\s*,\s*(\d{1,2})\s*\)$/.exec(t);
  if (decimal) return `numeric(${decimal[1]},${decimal[2]})`;
  if (t === "DECIMAL") return "numeric";
  const pg = PG_TYPES[t];
  if (!pg) throw new DialectError("UNSUPPORTED_DATATYPE", `Unsupported parameter type: ${t.slice(0, 40)}`, "0A000");
  return pg;
}

/** Index just past the block comment opening at `start`; block comments nest, as in Postgres and Databricks SQL. */
function endOfBlockComment(s: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < s.length) {
    if (s[i] === "/" && s[i + 1] === "*") {
      depth += 1;
      i += 2;
    } else if (s[i] === "*" && s[i + 1] === "/") {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else i += 1;
  }
  throw new DialectError("PARSE_SYNTAX_ERROR", "Unterminated comment.", "42601");
}

/** After a catalog name: `.schema.` with the schema plain, double-quoted or backticked. */
const QUALIFIED_REST = /^\s*\.\s*(?:[A-Za-z_]\w*|"(?:[^"]|"")+"|`(?:[^`]|``)+`)\s*\./;

const ALLOWED_FIRST_WORDS = new Set(["SELECT", "WITH", "VALUES", "TABLE", "INSERT"]);

export interface TranslatedStatement {
  sql: string;
  values: (string | null)[];
  isInsert: boolean;
}

/**
 * Databricks SQL → Postgres, token by token (never inside literals, quoted identifiers or comments):
 * `:name` markers → `$n::type`, `current_user()` → `current_user`, the `main` catalog dropped from three-part names.
 */
export function translateStatement(
  statement: string,
  parameters: SqlParameter[],
  catalog = "main",
): TranslatedStatement {
  const byName = new Map<string, SqlParameter>();
  for (const p of parameters) {
    if (!/^[A-Za-z_]\w*$/.test(p.name))
      throw new DialectError("INVALID_PARAMETER_VALUE", `Invalid parameter name: ${p.name.slice(0, 64)}`, "22023");
    if (byName.has(p.name))
      throw new DialectError("INVALID_PARAMETER_VALUE", `Duplicate parameter: ${p.name}`, "22023");
    byName.set(p.name, p);
  }
  /** Each parameter's position ($n), in order of first use. */
  const positions = new Map<string, number>();
  let out = "";
  let firstWord: string | undefined;
  let statementsEnded = false;
  const s = statement;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    const next = s[i + 1];
    if (c === "-" && next === "-") {
      // As in Postgres, a line comment ends at a carriage return as well as at a newline.
      const end = s.slice(i).search(/[\n\r]/);
      i = end === -1 ? s.length : i + end + 1;
      out += " ";
      continue;
    }
    if (c === "/" && next === "*") {
      i = endOfBlockComment(s, i);
      out += " ";
      continue;
    }
    if (c === "'" || c === '"' || c === "`") {
      // In Postgres escape strings (E'...') a backslash escapes the next character, quotes included.
      const backslashEscapes = c === "'" && /(?:^|[^\w$])[Ee]$/.test(s.slice(Math.max(0, i - 2), i));
      let j = i + 1;
      while (j < s.length) {
        if (backslashEscapes && s[j] === "\\") j += 2;
        else if (s[j] === c && s[j + 1] === c) j += 2;
        else if (s[j] === c) break;
        else j += 1;
      }
      if (j >= s.length) throw new DialectError("PARSE_SYNTAX_ERROR", "Unterminated quoted text.", "42601");
      const body = s.slice(i + 1, j);
      if (statementsEnded)
        throw new DialectError("PARSE_SYNTAX_ERROR", "Only one statement may be executed per request.", "42601");
      const rest = s.slice(j + 1);
      if (c !== "'" && body.toLowerCase() === catalog && QUALIFIED_REST.test(rest)) {
        // A quoted catalog name (`main`.sales.deals) is dropped like an unquoted one.
        i = j + 1 + /^\s*\.\s*/.exec(rest)![0].length;
        continue;
      }
      out += c === "`" ? `"${body.replace(/"/g, '""')}"` : s.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === "$")
      throw new DialectError(
        "PARSE_SYNTAX_ERROR",
        "Positional parameters and dollar quoting are not supported; use :name markers.",
        "42601",
      );
    if (c === ";") {
      statementsEnded = true;
      i += 1;
      continue;
    }
    if (/\s/.test(c)) {
      out += c;
      i += 1;
      continue;
    }
    if (statementsEnded)
      throw new DialectError("PARSE_SYNTAX_ERROR", "Only one statement may be executed per request.", "42601");
    if (c === ":" && next === ":") {
      out += "::";
      i += 2;
      continue;
    }
    if (c === ":" && next !== undefined && /[A-Za-z_]/.test(next)) {
      const m = /^[A-Za-z_]\w*/.exec(s.slice(i + 1))!;
      const name = m[0];
      const param = byName.get(name);
      if (!param) throw new DialectError("UNBOUND_SQL_PARAMETER", `Found the unbound parameter: ${name}.`, "42P02");
      let position = positions.get(name);
      if (position === undefined) positions.set(name, (position = positions.size + 1));
      out += `($${position}::${pgType(param.type)})`;
      i += 1 + name.length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][\w$]*/.exec(s.slice(i))!;
      const word = m[0];
      firstWord ??= word.toUpperCase();
      const rest = s.slice(i + word.length);
      if (word.toLowerCase() === "current_user" && /^\s*\(\s*\)/.test(rest)) {
        out += "current_user";
        i += word.length + /^\s*\(\s*\)/.exec(rest)![0].length;
        continue;
      }
      if (word.toLowerCase() === catalog && QUALIFIED_REST.test(rest)) {
        i += word.length + /^\s*\.\s*/.exec(rest)![0].length;
        continue;
      }
      out += word;
      i += word.length;
      continue;
    }
    out += c;
    i += 1;
  }
  if (!firstWord || !ALLOWED_FIRST_WORDS.has(firstWord)) {
    throw new DialectError(
      "UNSUPPORTED_FEATURE",
      `Statement type not allowed on this warehouse: ${(firstWord ?? "(empty)").slice(0, 32)}.`,
      "0A000",
    );
  }
  for (const name of byName.keys()) {
    if (!positions.has(name))
      throw new DialectError("INVALID_PARAMETER_VALUE", `Parameter ${name} is not used in the statement.`, "22023");
  }
  const values = [...positions.keys()].map((n) => byName.get(n)!.value);
  return { sql: out.trim(), values, isInsert: firstWord === "INSERT" };
}
