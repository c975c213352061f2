import pg from "pg";
import type { Seed } from "../seed/schema.js";
import type { Directory } from "../directory.js";
import type { Counters } from "../faults.js";
import type { Principal } from "../principal.js";
import { connection, type ClusterAddress } from "../postgres/address.js";
import { builtinFunctionsDdl } from "./builtins.js";
import { ucFunctionsDdl } from "../unity-catalog/functions.js";
import { callerFunctionsDdl } from "./caller-functions.js";
import { parseCatalogCommand, runCatalogCommand } from "./catalog-commands.js";
import { columnInfo, type SqlColumn } from "./databricks-types.js";
import { DialectError } from "./dialect-error.js";
import { translateStatement, type TranslatedStatement } from "./dialect.js";
import { generateDeals } from "./deals.js";
import { INFORMATION_SCHEMA, informationSchemaDdl } from "./information-schema.js";
import { mapPgError } from "./pg-errors.js";
import { SqlError, catalogNotFound, schemaNotFound } from "./sql-error.js";
import { createWorkspaceDatabase, q, runAll, type WorkspaceDatabase } from "./workspace-database.js";

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
  /** Aborting it cancels the statement's backend (pg_cancel_backend); the statement then fails as CANCELLED. */
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
  /** The workspace's database, as the cluster's superuser (tests hold locks and read pg_stat_activity through it). */
  readonly database: { name: string; url: string };
  close(): Promise<void>;
}

export interface EngineOptions {
  cluster: ClusterAddress;
  /** A statement's longest run (Postgres statement_timeout); past it, it fails with Databricks' timeout error. */
  maxRunTimeMs: number;
  /** Sessions one principal may have open at once (statements beyond wait for one). */
  sessionsPerPrincipal?: number;
}

/** The run time a statement gets unless the workspace is started with another. */
export const DEFAULT_MAX_RUN_TIME_MS = 30_000;

/** The engine's one Unity Catalog catalog; three-part names in it lose the catalog on the way to Postgres. */
const CATALOG = "main";
/** Where the governed tables' rows really live; no caller may read it. */
const PRIVATE_SCHEMA = "uc_private";
/** How often a cancel is repeated while its statement has not yet stopped (it may not have reached the backend). */
const CANCEL_RETRY_MS = 20;

/** The UC name `main.sales.deals` → Postgres `sales.deals` (the engine's one catalog is `main`). */
function pgName(ucName: string): { schema: string; table: string } {
  const [, schema, table] = ucName.split(".");
  return { schema: schema!, table: table! };
}

/** Every value arrives as Postgres' text; `cell` turns it into the JSON_ARRAY spelling of its type. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };
const OID = pg.types.builtins;

/** A timestamp's text (UTC sessions) as an ISO instant; values outside the ISO range keep Postgres' text. */
function isoTimestamp(text: string): string {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d(?::?\d\d)?)?$/.exec(text);
  if (!m) return text;
  const offset = m[3] ? (m[3].length === 3 ? `${m[3]}:00` : m[3].replace(/^([+-]\d\d)(\d\d)$/, "$1:$2")) : "Z";
  const instant = new Date(`${m[1]}T${m[2]}${offset}`);
  return Number.isNaN(instant.getTime()) ? text : instant.toISOString();
}

/** A value in the JSON_ARRAY format: booleans as true/false, doubles as JavaScript prints them, ISO timestamps. */
function cell(oid: number, value: string | null): string | null {
  if (value === null) return null;
  switch (oid) {
    case OID.BOOL:
      return value === "t" ? "true" : value === "f" ? "false" : value;
    case OID.FLOAT4:
    case OID.FLOAT8:
      return String(Number(value));
    case OID.TIMESTAMP:
    case OID.TIMESTAMPTZ:
      return isoTimestamp(value);
    default:
      return value;
  }
}

/**
 * The set-up of a workspace's database, in order, as the superuser: Databricks built-ins, the caller functions, the
 * governed tables (row filters and column masks in security-barrier views over a private schema no caller can touch;
 * in a view, `current_user` is the invoker, so Postgres evaluates them for each caller, whatever SQL the caller
 * wrote), grants, and information_schema. Add a step by adding to this list.
 */
function setupSteps(seed: Seed, db: WorkspaceDatabase, createdAt: Date): ((client: pg.Client) => Promise<void>)[] {
  const deals = pgName(seed.tables.deals.name);
  const audit = pgName(seed.tables.audit.name);
  const owner = q(db.role("uc_owner"));
  const grantees = (names: string[]) => names.map((n) => q(db.role(n))).join(", ");
  const columns = ["deal_id", "account", "region", "owner_email", "product", "amount", "margin_pct", "quarter"];
  const masks = seed.tables.deals.columnMasks;
  const select = [...columns, "close_date"]
    .map((c) =>
      masks[c] ? `(${translateExpression(masks[c])})::${c === "margin_pct" ? "numeric(5,2)" : "text"} AS ${c}` : c,
    )
    .join(", ");
  const dealReaders = seed.tables.deals.grants.filter((g) => g.level === "SELECT").map((g) => g.principal);
  const auditUsers = [...seed.tables.audit.readers, ...seed.tables.audit.writers];
  const ddl = (sql: string[]) => (client: pg.Client) => runAll(client, sql);
  return [
    ddl([
      "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
      // Dangerous built-ins stay with the superuser; callers cannot change role or read files.
      "REVOKE EXECUTE ON FUNCTION set_config(text, text, boolean) FROM PUBLIC",
    ]),
    ddl(builtinFunctionsDdl()),
    ddl(callerFunctionsDdl(db.rolePrefix)),
    ddl([
      `CREATE SCHEMA ${PRIVATE_SCHEMA} AUTHORIZATION ${owner}`,
      `REVOKE ALL ON SCHEMA ${PRIVATE_SCHEMA} FROM PUBLIC`,
      `CREATE TABLE ${PRIVATE_SCHEMA}.deals (deal_id text PRIMARY KEY, account text NOT NULL, region text NOT NULL, owner_email text NOT NULL, product text NOT NULL, amount numeric(12,2) NOT NULL, margin_pct numeric(5,2), quarter text NOT NULL, close_date date NOT NULL)`,
      `ALTER TABLE ${PRIVATE_SCHEMA}.deals OWNER TO ${owner}`,
      `CREATE SCHEMA IF NOT EXISTS ${q(deals.schema)} AUTHORIZATION ${owner}`,
      `CREATE SCHEMA IF NOT EXISTS ${q(audit.schema)} AUTHORIZATION ${owner}`,
      // Audit rows: one per tool call, written by the server's service principal, readable by the configured readers.
      `CREATE TABLE ${q(audit.schema)}.${q(audit.table)} (record_id text PRIMARY KEY, event_time timestamptz NOT NULL, request_id text, mode text, credential_source text, human text, workspace_principal text, role text, tool text, arguments text, outcome text, error_code text, rows_returned integer, latency_ms integer, statement_ids text)`,
      `ALTER TABLE ${q(audit.schema)}.${q(audit.table)} OWNER TO ${owner}`,
    ]),
    async (client) => {
      await client.query(
        `INSERT INTO ${PRIVATE_SCHEMA}.deals SELECT * FROM json_populate_recordset(NULL::${PRIVATE_SCHEMA}.deals, $1::json)`,
        [JSON.stringify(generateDeals(seed))],
      );
    },
    // The view belongs to the data's owner, so it reads the private table with the owner's rights, filtered.
    ddl([
      `SET ROLE ${owner}`,
      `CREATE VIEW ${q(deals.schema)}.${q(deals.table)} WITH (security_barrier) AS SELECT ${select} FROM ${PRIVATE_SCHEMA}.deals WHERE ${translateExpression(seed.tables.deals.rowFilter)}`,
      "RESET ROLE",
    ]),
    ddl([
      `GRANT USAGE ON SCHEMA ${q(deals.schema)} TO ${grantees(dealReaders)}`,
      `GRANT SELECT ON ${q(deals.schema)}.${q(deals.table)} TO ${grantees(dealReaders)}`,
      `GRANT USAGE ON SCHEMA ${q(audit.schema)} TO ${grantees(auditUsers)}`,
      `GRANT SELECT ON ${q(audit.schema)}.${q(audit.table)} TO ${grantees(auditUsers)}`,
      `GRANT INSERT ON ${q(audit.schema)}.${q(audit.table)} TO ${grantees(seed.tables.audit.writers)}`,
    ]),
    ddl(ucFunctionsDdl(seed, (name) => db.role(name))),
    ddl(
      informationSchemaDdl({
        catalog: CATALOG,
        schemas: [...catalogSchemas(seed)].filter((s) => s !== INFORMATION_SCHEMA),
        privateSchema: PRIVATE_SCHEMA,
        owner: "uc_owner",
        createdAt,
      }),
    ),
  ];
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

const canceled = () => new SqlError("OPERATION_CANCELED", "HY008", "The statement was cancelled.", "CANCELLED");

/**
 * A database of its own in a PostgreSQL cluster, with the seed's governance applied. Each statement runs in a session
 * logged in as its caller's own role (a pool per principal), so statements of different callers run at once.
 */
export async function createSqlEngine(
  seed: Seed,
  directory: Directory,
  counters: Counters,
  config: EngineOptions,
): Promise<SqlEngine> {
  const db = await createWorkspaceDatabase(config.cluster, seed, directory);
  const setup = new pg.Client(connection(config.cluster, db.name));
  try {
    await setup.connect();
    for (const step of setupSteps(seed, db, new Date())) await step(setup);
  } catch (error) {
    await setup.end().catch(() => undefined);
    await db.drop().catch(() => undefined);
    throw error;
  }
  await setup.end();

  const schemas = catalogSchemas(seed);
  const pools = new Map<string, pg.Pool>();
  // Cancels come from the superuser, who may signal any backend; one session is plenty.
  const admin = new pg.Pool({ ...connection(config.cluster, db.name), max: 1 });
  admin.on("error", () => undefined);
  let closed = false;

  function poolOf(principal: string): pg.Pool {
    let pool = pools.get(principal);
    if (!pool) {
      pool = new pg.Pool({
        ...connection(config.cluster, db.name, { user: db.role(principal), password: db.loginPassword }),
        max: config.sessionsPerPrincipal ?? 8,
        idleTimeoutMillis: 30_000,
      });
      // A session the server ended (cluster stopping) is dropped from the pool, not thrown.
      pool.on("error", () => undefined);
      pools.set(principal, pool);
    }
    return pool;
  }

  /** The request's catalog and schema, checked: the one catalog, and a schema it holds. */
  function defaults(options: ExecuteOptions | undefined): { schema?: string } {
    const catalog = options?.catalog;
    if (catalog !== undefined && catalog.toLowerCase() !== CATALOG) throw catalogNotFound(catalog);
    const schema = options?.schema?.toLowerCase();
    if (schema !== undefined && !schemas.has(schema)) throw schemaNotFound([CATALOG, options!.schema!]);
    return { schema };
  }

  /** Rows as JSON_ARRAY text, and the columns as ColumnInfo (numeric precision from the result's type modifiers). */
  function toResult(result: pg.QueryArrayResult<(string | null)[]>): SqlResult {
    const fields = result.fields;
    const rows = result.rows.map((row) => row.map((v, i) => cell(fields[i]!.dataTypeID, v)));
    const columns = fields.map((f, position) =>
      columnInfo(f.name, position, f.dataTypeID, f.dataTypeModifier, () => rows.map((r) => r[position]!)),
    );
    return { columns, rows };
  }

  /** Asks the server to stop `pid`'s statement until it has stopped; the first ask may land before the query does. */
  async function cancelBackend(pid: number, running: () => boolean): Promise<void> {
    while (running() && !closed) {
      await admin.query("SELECT pg_cancel_backend($1)", [pid]).catch(() => undefined);
      if (running()) await new Promise((resolve) => setTimeout(resolve, CANCEL_RETRY_MS));
    }
  }

  async function inSession(
    client: pg.PoolClient,
    translated: TranslatedStatement,
    schema: string | undefined,
  ): Promise<SqlResult> {
    const query = (sql: string, values: unknown[]) =>
      client.query<(string | null)[]>({ text: sql, values, rowMode: "array", types: RAW_TEXT });
    // The request's schema (USE SCHEMA) comes first; `public` keeps is_member() resolvable.
    const searchPath = schema === undefined ? "" : `; SET LOCAL search_path = ${q(schema)}, public`;
    await client.query(
      `BEGIN${translated.isInsert ? "" : " READ ONLY"}; SET LOCAL statement_timeout = ${Math.max(1, Math.floor(config.maxRunTimeMs))}${searchPath}`,
    );
    let result: SqlResult;
    if (translated.kind === "catalog") {
      if (translated.values.length > 0)
        throw new SqlError("INVALID_PARAMETER_VALUE", "22023", "Parameters are not supported in this statement.");
      result = await runCatalogCommand(parseCatalogCommand(translated.sql), {
        catalog: CATALOG,
        schema,
        schemas,
        catalogQualified: translated.catalogQualified,
        query: async (sql, values) => {
          const r = await query(sql, values ?? []);
          return r.rows.map((row) => row.map((v, i) => cell(r.fields[i]!.dataTypeID, v)));
        },
      });
    } else result = toResult(await query(translated.sql, translated.values));
    await client.query("COMMIT");
    return result;
  }

  async function execute(
    principal: Principal,
    statement: string,
    parameters: SqlParameter[],
    options: ExecuteOptions | undefined,
  ): Promise<SqlResult> {
    const { schema } = defaults(options);
    let translated: TranslatedStatement;
    try {
      translated = translateStatement(statement, parameters, CATALOG);
    } catch (err) {
      if (err instanceof DialectError) throw new SqlError(err.errorClass, err.sqlState, err.message);
      throw err;
    }
    const signal = options?.signal;
    if (signal?.aborted) throw canceled();
    if (!db.principals.has(principal.name))
      throw new SqlError("INSUFFICIENT_PERMISSIONS", "42501", `User ${principal.name} is not known to this workspace.`);
    const client = await poolOf(principal.name).connect();
    let running = true;
    let broken = false;
    const pid = (client as unknown as { processID: number }).processID;
    const onAbort = () => void cancelBackend(pid, () => running);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal?.aborted) throw canceled();
      return await inSession(client, translated, schema);
    } catch (err) {
      await client.query("ROLLBACK").catch(() => (broken = true));
      if (signal?.aborted) throw canceled();
      if (err instanceof SqlError) throw err;
      throw mapPgError(err, {
        principal: principal.name,
        catalog: CATALOG,
        catalogQualified: translated.catalogQualified,
        rolePrefix: db.rolePrefix,
        maxRunTimeMs: config.maxRunTimeMs,
      });
    } finally {
      running = false;
      signal?.removeEventListener("abort", onAbort);
      client.release(broken);
    }
  }

  return {
    database: { name: db.name, url: pgUrl(config.cluster, db.name) },
    execute(principal, statement, parameters, options) {
      counters.countStatement({ principal: principal.name, statement, parameters, queryTags: options?.queryTags });
      return execute(principal, statement, parameters, options);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...pools.values(), admin].map((p) => p.end().catch(() => undefined)));
      await db.drop().catch(() => undefined);
    },
  };
}

function pgUrl(address: ClusterAddress, database: string): string {
  return `postgres://${encodeURIComponent(address.superuser)}:${encodeURIComponent(address.password)}@${address.host}:${address.port}/${encodeURIComponent(database)}`;
}
