import { PGlite, protocol, types } from "@electric-sql/pglite";
import type { Seed } from "../seed/schema.js";
import type { Directory } from "../directory.js";
import type { Counters } from "../faults.js";
import type { Principal } from "../principal.js";
import { builtinFunctionsDdl } from "./builtins.js";
import { ucFunctionsDdl } from "../unity-catalog/functions.js";
import { parseCatalogCommand, runCatalogCommand } from "./catalog-commands.js";
import { columnInfo, type SqlColumn } from "./databricks-types.js";
import { DialectError, translateStatement, type TranslatedStatement } from "./dialect.js";
import { generateDeals } from "./deals.js";
import { INFORMATION_SCHEMA, informationSchemaDdl } from "./information-schema.js";
import { mapPgError } from "./pg-errors.js";
import { SqlError, catalogNotFound, schemaNotFound } from "./sql-error.js";

export { SqlError, type ServiceErrorCode } from "./sql-error.js";
export type { SqlColumn } from "./databricks-types.js";

export interface SqlParameter {
  name: string;
  value: string | null;
  type?: string;
}
export interface SqlResult {
  columns: SqlColumn[];
  rows: (string | null)[][];
}
export interface ExecuteOptions {
  signal?: AbortSignal;
  /** The request's `query_tags`, kept with the statement in the counters (query history). */
  queryTags?: unknown;
  /** The request's `catalog` and `schema`: where unqualified names resolve (USE CATALOG / USE SCHEMA). */
  catalog?: string;
  schema?: string;
}
export interface SqlEngine {
  execute(
    principal: Principal,
    statement: string,
    parameters: SqlParameter[],
    options?: ExecuteOptions,
  ): Promise<SqlResult>;
  close(): Promise<void>;
}

/** The engine's one Unity Catalog catalog; three-part names in it lose the catalog on the way to Postgres. */
const CATALOG = "main";
/** Where the governed tables' rows really live; no caller may read it. */
const PRIVATE_SCHEMA = "uc_private";

const q = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

/** The UC name `main.sales.deals` → Postgres `sales.deals` (the engine's one catalog is `main`). */
function pgName(ucName: string): { schema: string; table: string } {
  const [, schema, table] = ucName.split(".");
  return { schema: schema!, table: table! };
}

/** Text of a value in the JSON_ARRAY format: strings, with dates and timestamps in Databricks' spelling. */
function cell(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/**
 * Row filters and column masks live in a security-barrier view over a private table no caller can touch; in a view,
 * `current_user` is the invoker, so Postgres itself evaluates them for each caller, whatever SQL the caller wrote.
 */
async function applyGovernance(db: PGlite, seed: Seed, directory: Directory): Promise<void> {
  const deals = pgName(seed.tables.deals.name);
  const audit = pgName(seed.tables.audit.name);
  const principals = [...seed.users.map((u) => u.userName), ...seed.servicePrincipals.map((s) => s.applicationId)];
  const ddl: string[] = [
    "CREATE ROLE uc_owner NOLOGIN",
    "CREATE SCHEMA uc_private AUTHORIZATION uc_owner",
    ...seed.groups.map((g) => `CREATE ROLE ${q(g)} NOLOGIN NOINHERIT`),
    ...principals.map((p) => `CREATE ROLE ${q(p)} NOLOGIN`),
    ...principals.flatMap((p) =>
      directory
        .groupsOf(p)
        .filter((g) => seed.groups.includes(g))
        .map((g) => `GRANT ${q(g)} TO ${q(p)}`),
    ),
    `CREATE FUNCTION public.is_member(g text) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = g) AND pg_has_role(current_user, g, 'MEMBER') $$`,
    `CREATE FUNCTION public.is_account_group_member(g text) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT public.is_member(g) $$`,
    `CREATE TABLE uc_private.deals (deal_id text PRIMARY KEY, account text NOT NULL, region text NOT NULL, owner_email text NOT NULL, product text NOT NULL, amount numeric(12,2) NOT NULL, margin_pct numeric(5,2), quarter text NOT NULL, close_date date NOT NULL)`,
    "ALTER TABLE uc_private.deals OWNER TO uc_owner",
    `CREATE SCHEMA IF NOT EXISTS ${q(deals.schema)} AUTHORIZATION uc_owner`,
    `CREATE SCHEMA IF NOT EXISTS ${q(audit.schema)} AUTHORIZATION uc_owner`,
    // Audit rows: one per tool call, written by the server's service principal, readable by the configured readers.
    `CREATE TABLE ${q(audit.schema)}.${q(audit.table)} (record_id text PRIMARY KEY, event_time timestamptz NOT NULL, request_id text, mode text, credential_source text, human text, workspace_principal text, role text, tool text, arguments text, outcome text, error_code text, rows_returned integer, latency_ms integer, statement_ids text)`,
    `ALTER TABLE ${q(audit.schema)}.${q(audit.table)} OWNER TO uc_owner`,
    // Dangerous built-ins stay with the superuser; callers cannot change role or read files.
    "REVOKE EXECUTE ON FUNCTION set_config(text, text, boolean) FROM PUBLIC",
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    "REVOKE ALL ON SCHEMA uc_private FROM PUBLIC",
  ];
  for (const sql of ddl) await db.exec(sql);
  await db.query(
    `INSERT INTO uc_private.deals SELECT * FROM json_populate_recordset(NULL::uc_private.deals, $1::json)`,
    [JSON.stringify(generateDeals(seed))],
  );
  const columns = [
    "deal_id",
    "account",
    "region",
    "owner_email",
    "product",
    "amount",
    "margin_pct",
    "quarter",
    "close_date",
  ];
  const masks = seed.tables.deals.columnMasks;
  const select = columns
    .map((c) =>
      masks[c] ? `(${translateExpression(masks[c])})::${c === "margin_pct" ? "numeric(5,2)" : "text"} AS ${c}` : c,
    )
    .join(", ");
  await db.exec(`SET ROLE uc_owner`);
  await db.exec(
    `CREATE VIEW ${q(deals.schema)}.${q(deals.table)} WITH (security_barrier) AS SELECT ${select} FROM uc_private.deals WHERE ${translateExpression(seed.tables.deals.rowFilter)}`,
  );
  await db.exec(`RESET ROLE`);
  const grantees = (names: string[]) => names.map(q).join(", ");
  const dealReaders = seed.tables.deals.grants.filter((g) => g.level === "SELECT").map((g) => g.principal);
  const grants = [
    `GRANT USAGE ON SCHEMA ${q(deals.schema)} TO ${grantees(dealReaders)}`,
    `GRANT SELECT ON ${q(deals.schema)}.${q(deals.table)} TO ${grantees(dealReaders)}`,
    `GRANT USAGE ON SCHEMA ${q(audit.schema)} TO ${grantees([...seed.tables.audit.readers, ...seed.tables.audit.writers])}`,
    `GRANT SELECT ON ${q(audit.schema)}.${q(audit.table)} TO ${grantees([...seed.tables.audit.readers, ...seed.tables.audit.writers])}`,
    `GRANT INSERT ON ${q(audit.schema)}.${q(audit.table)} TO ${grantees(seed.tables.audit.writers)}`,
  ];
  for (const sql of grants) await db.exec(sql);
}

/**
 * A seed expression (Databricks dialect, no parameters) in Postgres. A group-membership test of a constant group
 * becomes a scalar sub-select, which Postgres evaluates once per statement (an InitPlan) instead of once per row.
 */
function translateExpression(expression: string): string {
  return translateStatement(`SELECT ${expression}`, [])
    .sql.replace(/^SELECT\s+/i, "")
    .replace(/\b(is_member|is_account_group_member)\s*\(\s*('(?:[^']|'')*')\s*\)/gi, "(SELECT public.$1($2))");
}

/** The schemas of the catalog: those of the seed's tables, and information_schema. */
function catalogSchemas(seed: Seed): Set<string> {
  return new Set([pgName(seed.tables.deals.name).schema, pgName(seed.tables.audit.name).schema, INFORMATION_SCHEMA]);
}

/** Type modifiers of a statement's result columns (numeric precision and scale), which query results leave out. */
async function resultTypmods(db: PGlite, sql: string): Promise<number[]> {
  const parts = [
    protocol.serialize.parse({ text: sql }),
    protocol.serialize.describe({ type: "S" }),
    protocol.serialize.sync(),
  ];
  const message = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((offset, p) => (message.set(p, offset), offset + p.length), 0);
  const { messages } = await db.execProtocol(message);
  const description = messages.find((m) => m.name === "rowDescription") as
    { fields: { dataTypeModifier: number }[] } | undefined;
  return description?.fields.map((f) => f.dataTypeModifier) ?? [];
}

/** PGlite with the seed's governance applied; statements run one at a time, each as its caller's own role. */
export async function createSqlEngine(seed: Seed, directory: Directory, counters: Counters): Promise<SqlEngine> {
  const db = await PGlite.create();
  await applyGovernance(db, seed, directory);
  for (const sql of builtinFunctionsDdl()) await db.exec(sql);
  for (const sql of ucFunctionsDdl(seed)) await db.exec(sql);
  const schemas = catalogSchemas(seed);
  const layout = {
    catalog: CATALOG,
    schemas: [...schemas].filter((s) => s !== INFORMATION_SCHEMA),
    privateSchema: PRIVATE_SCHEMA,
    owner: "uc_owner",
    createdAt: new Date(),
  };
  for (const sql of informationSchemaDdl(layout)) await db.exec(sql);
  let queue: Promise<unknown> = Promise.resolve();

  /** The request's catalog and schema, checked: the one catalog, and a schema it holds. */
  function defaults(options: ExecuteOptions | undefined): { schema?: string } {
    const catalog = options?.catalog;
    if (catalog !== undefined && catalog.toLowerCase() !== CATALOG) throw catalogNotFound(catalog);
    const schema = options?.schema?.toLowerCase();
    if (schema !== undefined && !schemas.has(schema)) throw schemaNotFound([CATALOG, options!.schema!]);
    return { schema };
  }

  /** Rows as JSON_ARRAY text, and the columns as ColumnInfo (numeric precision from a describe of the statement). */
  async function toResult(
    sql: string,
    result: { fields: { name: string; dataTypeID: number }[]; rows: unknown },
  ): Promise<SqlResult> {
    const raw = result.rows as unknown[][];
    const typmods = result.fields.some((f) => f.dataTypeID === types.NUMERIC) ? await resultTypmods(db, sql) : [];
    const rows = raw.map((row) =>
      row.map((v, i) =>
        result.fields[i]!.dataTypeID === types.DATE && v instanceof Date ? v.toISOString().slice(0, 10) : cell(v),
      ),
    );
    const columns = result.fields.map((f, position) =>
      columnInfo(f.name, position, f.dataTypeID, typmods[position] ?? -1, () => rows.map((r) => r[position]!)),
    );
    return { columns, rows };
  }

  /** A SHOW or DESCRIBE statement, answered from information_schema by queries that run as the caller. */
  async function runCatalog(translated: TranslatedStatement, schema: string | undefined): Promise<SqlResult> {
    const command = parseCatalogCommand(translated.sql);
    if (translated.values.length > 0)
      throw new SqlError("INVALID_PARAMETER_VALUE", "22023", "Parameters are not supported in this statement.");
    return runCatalogCommand(command, {
      catalog: CATALOG,
      schema,
      schemas,
      catalogQualified: translated.catalogQualified,
      query: async (sql, values) => {
        const result = await db.query<unknown[]>(sql, values, { rowMode: "array" });
        return (result.rows as unknown[][]).map((row) => row.map(cell));
      },
    });
  }

  async function run(
    principal: Principal,
    statement: string,
    parameters: SqlParameter[],
    options: ExecuteOptions | undefined,
  ): Promise<SqlResult> {
    let translated;
    const { schema } = defaults(options);
    try {
      translated = translateStatement(statement, parameters, CATALOG);
    } catch (err) {
      if (err instanceof DialectError) throw new SqlError(err.errorClass, err.sqlState, err.message);
      throw err;
    }
    if (options?.signal?.aborted)
      throw new SqlError("OPERATION_CANCELED", "HY008", "The statement was cancelled.", "CANCELLED");
    // The request's schema (USE SCHEMA) comes first; `public` keeps is_member() resolvable.
    const searchPath = schema === undefined ? "" : `; SET LOCAL search_path = ${q(schema)}, public`;
    await db.exec(
      `BEGIN${translated.isInsert ? "" : " READ ONLY"}; SET LOCAL ROLE ${q(principal.name)}; SET LOCAL statement_timeout = 30000${searchPath}`,
    );
    try {
      let result: SqlResult;
      if (translated.kind === "catalog") result = await runCatalog(translated, schema);
      else {
        const raw = await db.query<unknown[]>(translated.sql, translated.values, { rowMode: "array" });
        result = await toResult(translated.sql, raw);
      }
      await db.exec("COMMIT");
      return result;
    } catch (err) {
      await db.exec("ROLLBACK").catch(() => undefined);
      if (err instanceof SqlError) throw err;
      throw mapPgError(err, {
        principal: principal.name,
        catalog: CATALOG,
        catalogQualified: translated.catalogQualified,
      });
    }
  }

  return {
    execute(principal, statement, parameters, options) {
      counters.statements.push({ principal: principal.name, statement, parameters, queryTags: options?.queryTags });
      const job = queue.then(() => run(principal, statement, parameters, options));
      queue = job.catch(() => undefined);
      return job;
    },
    async close() {
      await queue;
      await db.close();
    },
  };
}
