import { BUILTIN_FUNCTIONS, BUILTIN_SCHEMA } from "./builtins.js";
import { DialectError } from "./dialect-error.js";
import { IDENT, quotedName } from "./identifiers.js";
import type { SqlParameter } from "./engine.js";
import { inlineFromItem, readInlineFromJson } from "./inline-from-json.js";

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

function pgType(type: string | undefined, what = "parameter"): string {
  const t = (type ?? "STRING").trim().toUpperCase();
  const decimal = /^DECIMAL\s*\(\s*(\d{1,2})\s*,\s*(\d{1,2})\s*\)$/.exec(t);
  if (decimal) return `numeric(${decimal[1]},${decimal[2]})`;
  if (t === "DECIMAL") return "numeric";
  const pg = PG_TYPES[t];
  if (!pg) throw new DialectError("UNSUPPORTED_DATATYPE", `Unsupported ${what} type: ${t.slice(0, 40)}`, "0A000");
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
const QUALIFIED_REST = new RegExp(`^\\s*\\.\\s*(?:${IDENT})\\s*\\.`);

/** After a catalog name: `.schema.table`, captured. */
const SCHEMA_AND_TABLE = new RegExp(`^\\s*\\.\\s*(${IDENT})\\s*\\.\\s*(${IDENT})`);

const ALLOWED_FIRST_WORDS = new Set(["SELECT", "WITH", "VALUES", "TABLE", "INSERT"]);

/** Statements answered from the catalog (emulator/sql/catalog-commands.ts) rather than by the engine's SQL. */
const CATALOG_FIRST_WORDS = new Set(["SHOW", "DESCRIBE", "DESC"]);

/**
 * Statement keywords of Databricks SQL or Postgres this warehouse refuses as UNSUPPORTED_FEATURE; any other first
 * word is a syntax error, as a misspelt keyword is on Databricks.
 */
const KNOWN_STATEMENTS = new Set(
  (
    "ABORT ADD ALTER ANALYZE APPLY BEGIN CACHE CALL CHECKPOINT CLEAR CLOSE CLUSTER COMMENT COMMIT CONVERT COPY CREATE " +
    "DEALLOCATE DECLARE DELETE DENY DISCARD DO DROP END EXECUTE EXPLAIN FETCH FSCK GENERATE GET GRANT IMPORT LIST " +
    "LISTEN LOAD LOCK MERGE MOVE MSCK NOTIFY OPTIMIZE PREPARE PUT REASSIGN REFRESH REINDEX RELEASE REMOVE REORG " +
    "REPAIR REPLACE RESET RESTORE REVOKE ROLLBACK SAVEPOINT SECURITY SET START SYNC TRUNCATE UNCACHE UNDROP " +
    "UNLISTEN UNSET UPDATE USE VACUUM"
  ).split(" "),
);

/** Databricks type names Postgres spells otherwise, as the target of CAST(… AS type) or `::type`. */
const CAST_TYPES: Record<string, string> = {
  string: "text",
  double: "double precision",
  long: "bigint",
  short: "smallint",
  byte: "smallint",
  tinyint: "smallint",
};

/** Spellings Databricks accepts with empty parentheses and Postgres only without. */
const NILADIC = new Set(["current_user", "current_date", "current_timestamp"]);

export interface TranslatedStatement {
  sql: string;
  values: (string | null)[];
  isInsert: boolean;
  /** `catalog` statements (SHOW, DESCRIBE) are parsed from `sql` by the catalog commands, not run as they are. */
  kind: "query" | "catalog";
  /** `schema.table` as Postgres names them, for each table written with the catalog (`main.schema.table`). */
  catalogQualified: Set<string>;
}

/** An identifier as Postgres reports it in messages: unquoted ones folded to lower case, quoted ones verbatim. */
function identifierText(ident: string): string {
  return /^["`]/.test(ident) ? quotedName(ident) : ident.toLowerCase();
}

/**
 * Databricks SQL → Postgres, token by token (never inside literals, quoted identifiers or comments):
 * `:name` markers → `$n::type`, `current_user()` → the caller's name, the `main` catalog dropped from three-part names,
 * unqualified calls of Databricks built-ins → the builtin schema's functions, Databricks cast types (STRING, DOUBLE).
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
  /** A `:name` marker as Postgres takes it: `($n::type)`, n its position. */
  const marker = (name: string): string => {
    const param = byName.get(name);
    if (!param) throw new DialectError("UNBOUND_SQL_PARAMETER", `Found the unbound parameter: ${name}.`, "42P02");
    let position = positions.get(name);
    if (position === undefined) positions.set(name, (position = positions.size + 1));
    return `($${position}::${pgType(param.type)})`;
  };
  const catalogQualified = new Set<string>();
  /** Drops the catalog from `catalog.schema.table`, remembering the name for Databricks-worded errors. */
  const dropCatalog = (rest: string): number => {
    const named = SCHEMA_AND_TABLE.exec(rest);
    if (named) catalogQualified.add(`${identifierText(named[1]!)}.${identifierText(named[2]!)}`);
    return /^\s*\.\s*/.exec(rest)![0].length;
  };
  let out = "";
  let firstWord: string | undefined;
  /** The last token written (words upper-cased), and for each open parenthesis whether it opened a CAST. */
  let previous = "";
  const castParens: boolean[] = [];
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
        i = j + 1 + dropCatalog(rest);
        continue;
      }
      out += c === "`" ? `"${body.replace(/"/g, '""')}"` : s.slice(i, j + 1);
      previous = c === "'" ? "literal" : "identifier";
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
      previous = "::";
      i += 2;
      continue;
    }
    if (c === ":" && next !== undefined && /[A-Za-z_]/.test(next)) {
      const m = /^[A-Za-z_]\w*/.exec(s.slice(i + 1))!;
      const name = m[0];
      out += marker(name);
      previous = "parameter";
      i += 1 + name.length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][\w$]*/.exec(s.slice(i))!;
      const word = m[0];
      firstWord ??= word.toUpperCase();
      const rest = s.slice(i + word.length);
      const lower = word.toLowerCase();
      const castTarget = previous === "::" || (previous === "AS" && castParens.at(-1) === true);
      previous = word.toUpperCase();
      if (castTarget && CAST_TYPES[lower] && !/^\s+precision\b/i.test(rest)) {
        out += CAST_TYPES[lower];
        i += word.length;
        continue;
      }
      // The caller's name without the workspace's role prefix (emulator/sql/caller-functions.ts); a bare
      // `current_user` stays Postgres' role, which role functions such as pg_has_role take.
      if (lower === "current_user" && /^\s*\(\s*\)/.test(rest) && !endsWithDot(out)) {
        out += `${BUILTIN_SCHEMA}."current_user"()`;
        i += word.length + /^\s*\(\s*\)/.exec(rest)![0].length;
        continue;
      }
      if (NILADIC.has(lower) && /^\s*\(\s*\)/.test(rest)) {
        out += lower;
        i += word.length + /^\s*\(\s*\)/.exec(rest)![0].length;
        continue;
      }
      // `inline(from_json(…))` in FROM: Postgres reads the JSON array as rows, one column per struct field.
      if (lower === "inline" && /^\s*\(/.test(rest) && !endsWithDot(out)) {
        const inline = readInlineFromJson(rest);
        const json = "literal" in inline.json ? inline.json.literal : `${marker(inline.json.parameter)}::text`;
        out += inlineFromItem(json, inline.fields, (type) => pgType(type, "from_json field"), inline.alias);
        previous = "identifier";
        i += word.length + inline.length;
        continue;
      }
      if (lower === catalog && QUALIFIED_REST.test(rest)) {
        i += word.length + dropCatalog(rest);
        continue;
      }
      // Only a call, and only an unqualified one: `t.year(`, `EXTRACT(year FROM …)` and a column `quarter` stay.
      if (BUILTIN_FUNCTIONS.has(lower) && /^\s*\(/.test(rest) && !endsWithDot(out)) {
        out += `${BUILTIN_SCHEMA}.${lower}`;
        i += word.length;
        continue;
      }
      out += word;
      i += word.length;
      continue;
    }
    if (c === "(") castParens.push(previous === "CAST" || previous === "TRY_CAST");
    else if (c === ")") castParens.pop();
    previous = c;
    out += c;
    i += 1;
  }
  refuseFirstWord(firstWord, out);
  for (const name of byName.keys()) {
    if (!positions.has(name))
      throw new DialectError("INVALID_PARAMETER_VALUE", `Parameter ${name} is not used in the statement.`, "22023");
  }
  const values = [...positions.keys()].map((n) => byName.get(n)!.value);
  return {
    sql: out.trim(),
    values,
    isInsert: firstWord === "INSERT",
    kind: CATALOG_FIRST_WORDS.has(firstWord!) ? "catalog" : "query",
    catalogQualified,
  };
}

/** Whether the text so far ends with `.` (spaces aside): the word after it is qualified. */
function endsWithDot(text: string): boolean {
  let k = text.length - 1;
  while (k >= 0 && /\s/.test(text[k]!)) k -= 1;
  return text[k] === ".";
}

/** Refuses a statement whose first word this warehouse does not run, worded as Databricks words it. */
function refuseFirstWord(firstWord: string | undefined, translated: string): void {
  if (firstWord && (ALLOWED_FIRST_WORDS.has(firstWord) || CATALOG_FIRST_WORDS.has(firstWord))) return;
  if (firstWord && KNOWN_STATEMENTS.has(firstWord))
    throw new DialectError(
      "UNSUPPORTED_FEATURE",
      `Statement type not allowed on this warehouse: ${firstWord.slice(0, 32)}.`,
      "0A000",
    );
  const text = translated.trim();
  if (text === "")
    throw new DialectError("PARSE_EMPTY_STATEMENT", "Syntax error, unexpected empty statement.", "42617");
  const near = /^[A-Za-z_][\w$]*|^\S/.exec(text)![0];
  throw new DialectError("PARSE_SYNTAX_ERROR", `Syntax error at or near '${near.slice(0, 64)}'.`, "42601");
}
