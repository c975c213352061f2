import { PGlite, types } from "@electric-sql/pglite";
import type { Seed } from "../seed/schema.js";
import type { Directory } from "../directory.js";
import type { Counters } from "../faults.js";
import type { Principal } from "../principal.js";
import { DialectError, translateStatement } from "./dialect.js";
import { generateDeals } from "./deals.js";

export interface SqlParameter {
  name: string;
  value: string | null;
  type?: string;
}
export interface SqlColumn {
  name: string;
  position: number;
  type_name: string;
  type_text: string;
}
export interface SqlResult {
  columns: SqlColumn[];
  rows: (string | null)[][];
}
/** Databricks `ServiceErrorCode`: what `status.error.error_code` of a failed statement may hold. */
export type ServiceErrorCode =
  "BAD_REQUEST" | "CANCELLED" | "DEADLINE_EXCEEDED" | "INTERNAL_ERROR" | "RESOURCE_EXHAUSTED";

/**
 * A failed statement as Databricks reports it: a service error code, and a message that starts with the error
 * class (`[INSUFFICIENT_PERMISSIONS] …`) and ends with the SQLSTATE.
 */
export class SqlError extends Error {
  readonly errorCode: ServiceErrorCode;
  constructor(
    readonly errorClass: string,
    readonly sqlState: string,
    detail: string,
    errorCode: ServiceErrorCode = "BAD_REQUEST",
  ) {
    super(`[${errorClass}] ${detail} SQLSTATE: ${sqlState}`);
    this.name = "SqlError";
    this.errorCode = errorCode;
  }
}
export interface SqlEngine {
  execute(
    principal: Principal,
    statement: string,
    parameters: SqlParameter[],
    /** `queryTags` are the request's `query_tags`, kept with the statement in the counters (query history). */
    options?: { signal?: AbortSignal; queryTags?: unknown },
  ): Promise<SqlResult>;
  close(): Promise<void>;
}

/** Postgres type oid → Databricks ColumnInfoTypeName and type_text. */
const TYPE_NAMES: Record<number, [string, string]> = {
  [types.TEXT]: ["STRING", "STRING"],
  [types.VARCHAR]: ["STRING", "STRING"],
  [types.BPCHAR]: ["STRING", "STRING"],
  [types.INT2]: ["SHORT", "SMALLINT"],
  [types.INT4]: ["INT", "INT"],
  [types.INT8]: ["LONG", "BIGINT"],
  [types.FLOAT4]: ["FLOAT", "FLOAT"],
  [types.FLOAT8]: ["DOUBLE", "DOUBLE"],
  [types.NUMERIC]: ["DECIMAL", "DECIMAL"],
  [types.BOOL]: ["BOOLEAN", "BOOLEAN"],
  [types.DATE]: ["DATE", "DATE"],
  [types.TIMESTAMP]: ["TIMESTAMP", "TIMESTAMP"],
  [types.TIMESTAMPTZ]: ["TIMESTAMP", "TIMESTAMP"],
};

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

/** Postgres SQLSTATE → Databricks error class; anything unlisted keeps its SQLSTATE as the class. */
const ERROR_CLASSES: Record<string, string> = {
  "42501": "INSUFFICIENT_PERMISSIONS",
  "42P01": "TABLE_OR_VIEW_NOT_FOUND",
  "3F000": "SCHEMA_NOT_FOUND",
  "42703": "UNRESOLVED_COLUMN",
  "42883": "UNRESOLVED_ROUTINE",
  "42601": "PARSE_SYNTAX_ERROR",
  "0A000": "UNSUPPORTED_FEATURE",
  "25006": "INSUFFICIENT_PERMISSIONS",
  "23505": "DELTA_DUPLICATE_KEY",
  "22012": "DIVIDE_BY_ZERO",
  "54001": "STATEMENT_TOO_COMPLEX",
};

function mapPgError(err: unknown, principal: Principal): SqlError {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? "XX000";
  const message = (e.message ?? "query failed").replace(/uc_private\./g, "main.").replace(/"uc_private"/g, "main");
  const errorClass = ERROR_CLASSES[code] ?? "SQL_EXECUTION_ERROR";
  if (code === "42501")
    return new SqlError(
      errorClass,
      code,
      `Insufficient privileges: User ${principal.name} does not have the privilege for this operation (${message}).`,
    );
  if (code === "25006") return new SqlError(errorClass, code, "This statement may not modify data.");
  if (code === "57014") return new SqlError("QUERY_EXECUTION_TIMEOUT_EXCEEDED", code, message, "DEADLINE_EXCEEDED");
  if (code === "54001" || code === "53200") return new SqlError(errorClass, code, message, "RESOURCE_EXHAUSTED");
  // The embedded engine loses its prepared statement when parsing exhausts its stack (very long expressions).
  if (code === "26000")
    return new SqlError(
      "STATEMENT_TOO_COMPLEX",
      "54001",
      "The statement is too long or too deeply nested to execute.",
      "RESOURCE_EXHAUSTED",
    );
  // Errors that come from the engine rather than from the statement say nothing about its internals.
  if (code.startsWith("XX") || code === "08P01")
    return new SqlError("INTERNAL_ERROR", code, "The statement could not be executed.", "INTERNAL_ERROR");
  return new SqlError(errorClass, code, message);
}

/** PGlite with the seed's governance applied; statements run one at a time, each as its caller's own role. */
export async function createSqlEngine(seed: Seed, directory: Directory, counters: Counters): Promise<SqlEngine> {
  const db = await PGlite.create();
  await applyGovernance(db, seed, directory);
  let queue: Promise<unknown> = Promise.resolve();

  async function run(
    principal: Principal,
    statement: string,
    parameters: SqlParameter[],
    signal?: AbortSignal,
  ): Promise<SqlResult> {
    let translated;
    try {
      translated = translateStatement(statement, parameters);
    } catch (err) {
      if (err instanceof DialectError) throw new SqlError(err.errorClass, err.sqlState, err.message);
      throw err;
    }
    if (signal?.aborted) throw new SqlError("OPERATION_CANCELED", "HY008", "The statement was cancelled.", "CANCELLED");
    await db.exec(
      `BEGIN${translated.isInsert ? "" : " READ ONLY"}; SET LOCAL ROLE ${q(principal.name)}; SET LOCAL statement_timeout = 30000`,
    );
    try {
      const result = await db.query<Record<string, unknown>>(translated.sql, translated.values, { rowMode: "array" });
      await db.exec("COMMIT");
      const columns = result.fields.map((f, position) => {
        const [type_name, type_text] = TYPE_NAMES[f.dataTypeID] ?? ["STRING", "STRING"];
        return { name: f.name, position, type_name, type_text };
      });
      const rows = (result.rows as unknown as unknown[][]).map((row) =>
        row.map((v, i) =>
          columns[i]!.type_name === "DATE" && v instanceof Date ? v.toISOString().slice(0, 10) : cell(v),
        ),
      );
      return { columns, rows };
    } catch (err) {
      await db.exec("ROLLBACK").catch(() => undefined);
      throw mapPgError(err, principal);
    }
  }

  return {
    execute(principal, statement, parameters, options) {
      counters.statements.push({ principal: principal.name, statement, parameters, queryTags: options?.queryTags });
      const job = queue.then(() => run(principal, statement, parameters, options?.signal));
      queue = job.catch(() => undefined);
      return job;
    },
    async close() {
      await queue;
      await db.close();
    },
  };
}
