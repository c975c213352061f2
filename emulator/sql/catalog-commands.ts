import type { SqlColumn } from "./databricks-types.js";
import { INFORMATION_SCHEMA } from "./information-schema.js";
import { SqlError, catalogNotFound, insufficientPrivileges, schemaNotFound, tableNotFound } from "./sql-error.js";

/** SHOW and DESCRIBE statements, answered from the caller-filtered information_schema. */
export type CatalogCommand =
  | { kind: "showCatalogs"; pattern?: string }
  | { kind: "showSchemas"; catalog?: string; pattern?: string }
  | { kind: "showTables"; catalog?: string; schema?: string; pattern?: string }
  | { kind: "describeTable"; name: string[]; extended: boolean };

/** Runs SQL in the caller's own transaction (so as the caller) and gives its rows as text. */
export type CallerQuery = (sql: string, values?: unknown[]) => Promise<(string | null)[][]>;

export interface CatalogContext {
  query: CallerQuery;
  catalog: string;
  /** The schema unqualified names resolve in (the request's `schema`), if any. */
  schema?: string;
  /** Schemas the catalog holds (data schemas and information_schema). */
  schemas: ReadonlySet<string>;
  /** `schema.table` names written with the catalog, so errors name them as written. */
  catalogQualified: ReadonlySet<string>;
}

export interface CatalogResult {
  columns: SqlColumn[];
  rows: (string | null)[][];
}

interface Token {
  text: string;
  kind: "word" | "quoted" | "string" | "dot" | "other";
}

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:("(?:[^"]|"")+")|('(?:[^']|'')*')|([A-Za-z_][\w$]*)|(\.)|(\S))/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < sql.length && (m = re.exec(sql))) {
    if (m[1]) tokens.push({ text: m[1].slice(1, -1).replace(/""/g, '"'), kind: "quoted" });
    else if (m[2]) tokens.push({ text: m[2].slice(1, -1).replace(/''/g, "'"), kind: "string" });
    else if (m[3]) tokens.push({ text: m[3], kind: "word" });
    else if (m[4]) tokens.push({ text: ".", kind: "dot" });
    else if (m[5]) tokens.push({ text: m[5], kind: "other" });
  }
  return tokens;
}

function syntaxError(near: Token | undefined): SqlError {
  const at = near ? `'${near.text.slice(0, 64)}'` : "end of input";
  return new SqlError("PARSE_SYNTAX_ERROR", "42601", `Syntax error at or near ${at}.`);
}

/** A cursor over the tokens of one statement. */
class Tokens {
  private i = 0;
  constructor(private readonly list: Token[]) {}
  peekWord(...words: string[]): boolean {
    const t = this.list[this.i];
    return t?.kind === "word" && words.includes(t.text.toUpperCase());
  }
  acceptWord(...words: string[]): boolean {
    if (!this.peekWord(...words)) return false;
    this.i += 1;
    return true;
  }
  /** `a.b.c`: unquoted parts folded to lower case, as Unity Catalog stores names. */
  name(): string[] {
    const parts: string[] = [];
    for (;;) {
      const t = this.list[this.i];
      if (t?.kind !== "word" && t?.kind !== "quoted") throw syntaxError(t);
      parts.push(t.kind === "word" ? t.text.toLowerCase() : t.text);
      this.i += 1;
      if (this.list[this.i]?.kind !== "dot") return parts;
      this.i += 1;
    }
  }
  /** `[LIKE] 'pattern'`, if present. */
  pattern(): string | undefined {
    const like = this.acceptWord("LIKE");
    const t = this.list[this.i];
    if (t?.kind === "string") {
      this.i += 1;
      return t.text;
    }
    if (like) throw syntaxError(t);
    return undefined;
  }
  end(): void {
    const t = this.list[this.i];
    if (t && !(t.kind === "other" && t.text === ";" && this.i === this.list.length - 1)) throw syntaxError(t);
  }
  current(): Token | undefined {
    return this.list[this.i];
  }
}

function unsupported(what: string): SqlError {
  return new SqlError("UNSUPPORTED_FEATURE", "0A000", `${what.slice(0, 64)} is not supported on this warehouse.`);
}

/** Parses SHOW CATALOGS | SCHEMAS | TABLES and DESCRIBE TABLE from a translated statement. */
export function parseCatalogCommand(sql: string): CatalogCommand {
  const t = new Tokens(tokenize(sql));
  if (t.acceptWord("SHOW")) {
    if (t.acceptWord("CATALOGS")) {
      const pattern = t.pattern();
      t.end();
      return { kind: "showCatalogs", pattern };
    }
    if (t.acceptWord("SCHEMAS", "DATABASES")) {
      const catalog = t.acceptWord("IN", "FROM") ? t.name() : undefined;
      if (catalog && catalog.length > 1) throw syntaxError(t.current());
      const pattern = t.pattern();
      t.end();
      return { kind: "showSchemas", catalog: catalog?.[0], pattern };
    }
    if (t.acceptWord("TABLES")) {
      const where = t.acceptWord("IN", "FROM") ? t.name() : [];
      if (where.length > 2) throw syntaxError(t.current());
      const pattern = t.pattern();
      t.end();
      const [catalog, schema] = where.length === 2 ? where : [undefined, where[0]];
      return { kind: "showTables", catalog, schema, pattern };
    }
    throw unsupported(`SHOW ${t.current()?.text ?? ""}`.trim());
  }
  t.acceptWord("DESCRIBE", "DESC");
  if (t.peekWord("SCHEMA", "DATABASE", "CATALOG", "FUNCTION", "QUERY", "HISTORY", "DETAIL", "VOLUME"))
    throw unsupported(`DESCRIBE ${t.current()!.text.toUpperCase()}`);
  t.acceptWord("TABLE");
  const extended = t.acceptWord("EXTENDED", "FORMATTED");
  const name = t.name();
  t.end();
  if (name.length > 3) throw syntaxError(undefined);
  return { kind: "describeTable", name, extended };
}

const stringColumn = (name: string, position: number): SqlColumn => ({
  name,
  position,
  type_name: "STRING",
  type_text: "STRING",
});

/** Databricks' SHOW pattern: `*` any characters, `|` alternatives, case-insensitive. */
function matcher(pattern: string | undefined): (name: string) => boolean {
  if (pattern === undefined) return () => true;
  const alternatives = pattern
    .split("|")
    .map((p) =>
      p
        .trim()
        .replace(/[.+?^${}()[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*"),
    )
    .join("|");
  const re = new RegExp(`^(?:${alternatives})$`, "i");
  return (name) => re.test(name);
}

/** Databricks' Created Time spelling (Java's Date#toString in UTC), e.g. `Thu Jan 01 00:00:00 UTC 2026`. */
function javaDate(iso: string): string {
  const d = new Date(iso);
  const [day, , month] = d.toUTCString().split(" ");
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${day!.replace(",", "")} ${month} ${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

function requireCatalog(ctx: CatalogContext, catalog: string | undefined): void {
  if (catalog !== undefined && catalog !== ctx.catalog) throw catalogNotFound(catalog);
}

/** The schema must exist and the caller must hold USE SCHEMA (USAGE) on it. */
async function requireSchema(ctx: CatalogContext, schema: string): Promise<void> {
  if (!ctx.schemas.has(schema)) throw schemaNotFound([ctx.catalog, schema]);
  const [[usable]] = (await ctx.query(
    "SELECT pg_catalog.has_schema_privilege(n.oid, 'USAGE') FROM pg_catalog.pg_namespace n WHERE n.nspname = $1",
    [schema],
  )) as [[string]];
  if (usable !== "true") throw insufficientPrivileges("USE SCHEMA", "Schema", [ctx.catalog, schema]);
}

async function describeTable(ctx: CatalogContext, name: string[], extended: boolean): Promise<CatalogResult> {
  const written = name.length === 3 ? name : undefined;
  const [catalog, schema, table] =
    name.length === 3 ? name : name.length === 2 ? [ctx.catalog, name[0], name[1]] : [ctx.catalog, ctx.schema, name[0]];
  requireCatalog(ctx, catalog);
  // As written, with the catalog when it was written: Databricks names a missing table the way the statement did.
  const asWritten =
    written ?? (name.length === 2 && ctx.catalogQualified.has(`${name[0]}.${name[1]}`) ? [ctx.catalog, ...name] : name);
  if (schema === undefined || !ctx.schemas.has(schema)) throw tableNotFound(asWritten);
  const [[usable, exists, privileged]] = (await ctx.query(
    `SELECT pg_catalog.has_schema_privilege(n.oid, 'USAGE'), c.oid IS NOT NULL,
       c.oid IS NOT NULL AND pg_catalog.has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
     FROM pg_catalog.pg_namespace n
     LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = $2 AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
     WHERE n.nspname = $1`,
    [schema, table],
  )) as [[string, string, string]];
  if (usable !== "true") throw insufficientPrivileges("USE SCHEMA", "Schema", [ctx.catalog, schema]);
  if (exists !== "true") throw tableNotFound(asWritten);
  if (privileged !== "true") throw insufficientPrivileges("SELECT", "Table", [ctx.catalog, schema, table!]);
  const rows = await ctx.query(
    `SELECT column_name, pg_catalog.lower(full_data_type), comment FROM ${INFORMATION_SCHEMA}.columns
     WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema, table],
  );
  if (extended) {
    const [[type, owner, comment, created, format]] = (await ctx.query(
      `SELECT table_type, table_owner, comment, created, data_source_format FROM ${INFORMATION_SCHEMA}.tables
       WHERE table_schema = $1 AND table_name = $2`,
      [schema, table],
    )) as [[string, string, string | null, string, string]];
    const detail = (key: string, value: string) => [key, value, ""];
    rows.push(
      ["", "", ""],
      ["# Detailed Table Information", "", ""],
      detail("Catalog", ctx.catalog),
      detail("Database", schema),
      detail("Table", table!),
      detail("Created Time", javaDate(created)),
      detail("Last Access", "UNKNOWN"),
      detail("Type", type),
      detail("Provider", format.toLowerCase()),
      ...(comment ? [detail("Comment", comment)] : []),
      detail("Owner", owner),
    );
  }
  return { columns: ["col_name", "data_type", "comment"].map(stringColumn), rows };
}

/** Answers a SHOW or DESCRIBE statement for the caller; the queries run as the caller, so they list what it may see. */
export async function runCatalogCommand(command: CatalogCommand, ctx: CatalogContext): Promise<CatalogResult> {
  switch (command.kind) {
    case "showCatalogs": {
      const matches = matcher(command.pattern);
      const rows = await ctx.query(`SELECT catalog_name FROM ${INFORMATION_SCHEMA}.catalogs ORDER BY 1`);
      return { columns: [stringColumn("catalog", 0)], rows: rows.filter(([c]) => matches(c!)) };
    }
    case "showSchemas": {
      requireCatalog(ctx, command.catalog);
      const matches = matcher(command.pattern);
      const rows = await ctx.query(`SELECT schema_name FROM ${INFORMATION_SCHEMA}.schemata ORDER BY 1`);
      return { columns: [stringColumn("databaseName", 0)], rows: rows.filter(([s]) => matches(s!)) };
    }
    case "showTables": {
      requireCatalog(ctx, command.catalog);
      const schema = command.schema ?? ctx.schema;
      if (schema === undefined) throw schemaNotFound([ctx.catalog, "default"]);
      await requireSchema(ctx, schema);
      const matches = matcher(command.pattern);
      const rows = await ctx.query(
        `SELECT table_schema, table_name, 'false' FROM ${INFORMATION_SCHEMA}.tables WHERE table_schema = $1 ORDER BY 2`,
        [schema],
      );
      return {
        columns: [
          stringColumn("database", 0),
          stringColumn("tableName", 1),
          { name: "isTemporary", position: 2, type_name: "BOOLEAN", type_text: "BOOLEAN" },
        ],
        rows: rows.filter(([, table]) => matches(table!)),
      };
    }
    case "describeTable":
      return describeTable(ctx, command.name, command.extended);
  }
}
