import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkspaceClient } from "@databricks/sdk-experimental";
import type { LocalWorkspace } from "../../emulator/workspace.js";
import { startSqlWorkspace } from "../support/sql-workspace.js";

// DESCRIBE, SHOW and information_schema as Databricks answers them, and filtered by what the caller may see: the
// west role (SELECT on main.sales.deals only) against the executive role (deals and the audit table).

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- statement responses are probed field by field
type Json = Record<string, any>;
type Cell = string | null;

const DEAL_COLUMNS: [string, string][] = [
  ["deal_id", "string"],
  ["account", "string"],
  ["region", "string"],
  ["owner_email", "string"],
  ["product", "string"],
  ["amount", "decimal(12,2)"],
  ["margin_pct", "decimal(5,2)"],
  ["quarter", "string"],
  ["close_date", "date"],
];

let workspace: LocalWorkspace;
let warehouseId: string;
let execToken: string;
let westToken: string;

async function execute(statement: string, token = execToken, extra: Json = {}): Promise<Json> {
  const res = await fetch(`${workspace.baseUrl}/api/2.0/sql/statements`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ warehouse_id: warehouseId, statement, wait_timeout: "30s", ...extra }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

async function rows(statement: string, token = execToken, extra: Json = {}): Promise<Cell[][]> {
  const json = await execute(statement, token, extra);
  if (json.status.state !== "SUCCEEDED") throw new Error(`${statement}: ${JSON.stringify(json.status)}`);
  return json.result.data_array as Cell[][];
}

async function refusal(statement: string, token = execToken): Promise<{ message: string; sqlState: string }> {
  const json = await execute(statement, token);
  expect(json.status.state, statement).toBe("FAILED");
  return { message: json.status.error.message as string, sqlState: json.status.sql_state as string };
}

beforeAll(async () => {
  ({ workspace, warehouseId, execToken, westToken } = await startSqlWorkspace());
}, 60_000);

afterAll(async () => {
  await workspace?.close();
});

describe("DESCRIBE TABLE", () => {
  it("lists col_name, data_type (Databricks type names) and comment, as the SDK reads them", async () => {
    const client = new WorkspaceClient({ host: workspace.baseUrl, authType: "pat", token: westToken });
    const response = await client.statementExecution.executeStatement({
      warehouse_id: warehouseId,
      statement: "DESCRIBE TABLE main.sales.deals",
      wait_timeout: "30s",
    });
    expect(response.status?.state).toBe("SUCCEEDED");
    expect(response.manifest?.schema?.columns?.map((c) => [c.name, c.type_name])).toEqual([
      ["col_name", "STRING"],
      ["data_type", "STRING"],
      ["comment", "STRING"],
    ]);
    expect(response.result?.data_array).toEqual(DEAL_COLUMNS.map(([name, type]) => [name, type, null]));
  });

  it("EXTENDED adds the detailed table information after a blank row; DESC and the request's schema work too", async () => {
    const described = await rows("DESCRIBE TABLE EXTENDED main.sales.deals");
    expect(described.slice(0, DEAL_COLUMNS.length)).toEqual(DEAL_COLUMNS.map(([n, t]) => [n, t, null]));
    const detail = described.slice(DEAL_COLUMNS.length);
    expect(detail.slice(0, 2)).toEqual([
      ["", "", ""],
      ["# Detailed Table Information", "", ""],
    ]);
    expect(Object.fromEntries(detail.slice(2).map(([k, v]) => [k, v]))).toMatchObject({
      Catalog: "main",
      Database: "sales",
      Table: "deals",
      Type: "MANAGED",
      Provider: "delta",
    });
    expect(await rows("DESC deals", execToken, { catalog: "main", schema: "sales" })).toEqual(
      DEAL_COLUMNS.map(([n, t]) => [n, t, null]),
    );
  });

  it("a table the caller holds no grant on is refused as Databricks does; a missing one is not found", async () => {
    expect(await refusal("DESCRIBE TABLE main.governance.mcp_audit", westToken)).toEqual({
      message:
        "[INSUFFICIENT_PERMISSIONS] Insufficient privileges: User does not have USE SCHEMA on Schema 'main.governance'. SQLSTATE: 42501",
      sqlState: "42501",
    });
    expect((await rows("DESCRIBE TABLE main.governance.mcp_audit")).map((r) => r[0])).toContain("workspace_principal");
    expect((await refusal("DESCRIBE main.sales.nope", westToken)).message).toMatch(
      /^\[TABLE_OR_VIEW_NOT_FOUND\] The table or view `main`\.`sales`\.`nope` cannot be found/,
    );
    // The private table behind the governed view is no table of the catalog.
    expect((await refusal("DESCRIBE main.uc_private.deals", westToken)).message).toMatch(
      /^\[TABLE_OR_VIEW_NOT_FOUND\]/,
    );
  });
});

describe("SHOW", () => {
  it("SHOW CATALOGS lists main; SHOW SCHEMAS IN main lists the schemas the caller may use", async () => {
    expect(await rows("SHOW CATALOGS", westToken)).toEqual([["main"]]);
    const west = await execute("SHOW SCHEMAS IN main", westToken);
    expect(west.manifest.schema.columns.map((c: Json) => c.name)).toEqual(["databaseName"]);
    expect(west.result.data_array).toEqual([["information_schema"], ["sales"]]);
    expect(await rows("SHOW SCHEMAS IN main")).toEqual([["governance"], ["information_schema"], ["sales"]]);
    expect(await rows("SHOW SCHEMAS IN main LIKE 'sal*|gov*'")).toEqual([["governance"], ["sales"]]);
  });

  it("SHOW TABLES IN main.sales answers database, tableName, isTemporary", async () => {
    const shown = await execute("SHOW TABLES IN main.sales", westToken);
    expect(shown.manifest.schema.columns.map((c: Json) => [c.name, c.type_name])).toEqual([
      ["database", "STRING"],
      ["tableName", "STRING"],
      ["isTemporary", "BOOLEAN"],
    ]);
    expect(shown.result.data_array).toEqual([["sales", "deals", "false"]]);
    expect(await rows("SHOW TABLES", execToken, { schema: "governance" })).toEqual([
      ["governance", "mcp_audit", "false"],
    ]);
    expect(await rows("SHOW TABLES FROM sales LIKE 'nothing*'")).toEqual([]);
  });

  it("SHOW TABLES in a schema the caller may not use is refused; another catalog is not found", async () => {
    expect((await refusal("SHOW TABLES IN main.governance", westToken)).message).toMatch(
      /^\[INSUFFICIENT_PERMISSIONS\] Insufficient privileges: User does not have USE SCHEMA on Schema 'main\.governance'\./,
    );
    expect((await refusal("SHOW SCHEMAS IN hive_metastore")).message).toMatch(/^\[NO_SUCH_CATALOG_EXCEPTION\]/);
    expect((await refusal("SHOW GRANTS ON TABLE main.sales.deals")).message).toMatch(/^\[UNSUPPORTED_FEATURE\]/);
  });
});

describe("information_schema", () => {
  it("names the catalog main and types in Databricks names", async () => {
    expect(
      await rows(
        `SELECT table_catalog, column_name, data_type, full_data_type, is_nullable, numeric_precision, numeric_scale
         FROM main.information_schema.columns WHERE table_schema = 'sales' AND table_name = 'deals' ORDER BY ordinal_position`,
        westToken,
      ),
    ).toEqual([
      ["main", "deal_id", "STRING", "string", "NO", null, null],
      ["main", "account", "STRING", "string", "NO", null, null],
      ["main", "region", "STRING", "string", "NO", null, null],
      ["main", "owner_email", "STRING", "string", "NO", null, null],
      ["main", "product", "STRING", "string", "NO", null, null],
      ["main", "amount", "DECIMAL", "decimal(12,2)", "NO", "12", "2"],
      ["main", "margin_pct", "DECIMAL", "decimal(5,2)", "YES", "5", "2"],
      ["main", "quarter", "STRING", "string", "NO", null, null],
      ["main", "close_date", "DATE", "date", "NO", null, null],
    ]);
    expect(
      await rows(
        `SELECT column_name, data_type FROM information_schema.columns
         WHERE table_schema = 'governance' AND column_name IN ('event_time', 'rows_returned') ORDER BY 1`,
      ),
    ).toEqual([
      ["event_time", "TIMESTAMP"],
      ["rows_returned", "INT"],
    ]);
  });

  it("lists only what the caller may see: the west role sees deals, never the audit table or its columns", async () => {
    const tables =
      "SELECT table_catalog, table_schema, table_name, table_type FROM information_schema.tables WHERE table_schema <> 'information_schema' ORDER BY 2, 3";
    expect(await rows(tables, westToken)).toEqual([["main", "sales", "deals", "MANAGED"]]);
    expect(await rows(tables)).toEqual([
      ["main", "governance", "mcp_audit", "MANAGED"],
      ["main", "sales", "deals", "MANAGED"],
    ]);
    expect(
      await rows("SELECT count(*) FROM information_schema.columns WHERE table_name = 'mcp_audit'", westToken),
    ).toEqual([["0"]]);
    expect(await rows("SELECT schema_name FROM information_schema.schemata ORDER BY 1", westToken)).toEqual([
      ["information_schema"],
      ["sales"],
    ]);
  });

  it("a caller's predicate never sees a row the filter dropped: a division-by-zero probe on hidden names is silent", async () => {
    expect(
      await rows(
        "SELECT count(*) FROM information_schema.tables WHERE CASE WHEN table_name = 'mcp_audit' THEN 1 / (length(table_name) - length(table_name)) ELSE 0 END = 0",
        westToken,
      ),
    ).toEqual([["5"]]);
    expect(
      await rows(
        "SELECT count(*) FROM information_schema.columns WHERE CASE WHEN table_schema = 'governance' THEN 1 / (length(table_name) - length(table_name)) ELSE 0 END = 0 AND table_schema = 'sales'",
        westToken,
      ),
    ).toEqual([[String(DEAL_COLUMNS.length)]]);
    // The same probe on a row the caller may see does fire, so the silence above is the filter at work.
    expect(
      (
        await refusal(
          "SELECT count(*) FROM information_schema.tables WHERE CASE WHEN table_name = 'deals' THEN 1 / (length(table_name) - length(table_name)) ELSE 0 END = 0",
          westToken,
        )
      ).message,
    ).toMatch(/^\[DIVIDE_BY_ZERO\]/);
  });

  it("Postgres' own information_schema, which named the catalog postgres, is out of reach", async () => {
    expect((await refusal("SELECT * FROM postgres_information_schema.tables", westToken)).message).toMatch(
      /^\[INSUFFICIENT_PERMISSIONS\]/,
    );
    expect(await rows("SELECT DISTINCT table_catalog FROM information_schema.tables", westToken)).toEqual([["main"]]);
  });
});
