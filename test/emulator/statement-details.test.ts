import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkspaceClient } from "@databricks/sdk-experimental";
import { toStatementResponse } from "../../emulator/genie/statement-response.js";
import type { LocalWorkspace } from "../../emulator/workspace.js";
import { EXEC_SP, startSqlWorkspace } from "../support/sql-workspace.js";

// Statement Execution details as Databricks answers them: the request's catalog and schema, closing a statement,
// DECIMAL column types, and error classes worded as Databricks words them. The official JS SDK is the client where
// it covers the call; closing has no SDK method, so it is raw HTTP.

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are probed field by field
type Json = Record<string, any>;

let workspace: LocalWorkspace;
let warehouseId: string;
let execToken: string;
let westToken: string;

function sdk(token = execToken): WorkspaceClient {
  return new WorkspaceClient({ host: workspace.baseUrl, authType: "pat", token });
}

async function http(method: string, path: string, body?: unknown, token = execToken) {
  const res = await fetch(`${workspace.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Json };
}

async function execute(statement: string, extra: Json = {}) {
  return http("POST", "/api/2.0/sql/statements", {
    warehouse_id: warehouseId,
    statement,
    wait_timeout: "30s",
    ...extra,
  });
}

beforeAll(async () => {
  ({ workspace, warehouseId, execToken, westToken } = await startSqlWorkspace());
}, 60_000);

afterAll(async () => {
  await workspace?.close();
});

describe("catalog and schema set where unqualified names resolve", () => {
  it("catalog=main, schema=sales: SELECT count(*) FROM deals reads main.sales.deals", async () => {
    const response = await sdk().statementExecution.executeStatement({
      warehouse_id: warehouseId,
      statement: "SELECT count(*) FROM deals",
      catalog: "main",
      schema: "sales",
      wait_timeout: "30s",
    });
    expect(response.status?.state).toBe("SUCCEEDED");
    expect(response.result?.data_array).toEqual([["3000"]]);
  });

  it("the schema default keeps the row filter: the west role counts only its own region", async () => {
    const westDeals = await execute("SELECT count(*) FROM main.sales.deals WHERE region = 'WEST'");
    const west = await http(
      "POST",
      "/api/2.0/sql/statements",
      {
        warehouse_id: warehouseId,
        statement: "SELECT region, count(*) FROM deals GROUP BY region",
        schema: "sales",
        wait_timeout: "30s",
      },
      westToken,
    );
    expect(west.json.result.data_array).toEqual([["WEST", westDeals.json.result.data_array[0][0]]]);
  });

  it("an unknown catalog FAILS with NO_SUCH_CATALOG_EXCEPTION, an unknown schema with SCHEMA_NOT_FOUND", async () => {
    const catalog = await execute("SELECT 1", { catalog: "hive_metastore", schema: "sales" });
    expect(catalog.json.status).toMatchObject({
      state: "FAILED",
      error: {
        error_code: "BAD_REQUEST",
        message: expect.stringMatching(/^\[NO_SUCH_CATALOG_EXCEPTION\] The catalog 'hive_metastore' was not found/),
      },
      sql_state: "42704",
    });
    const schema = await execute("SELECT 1", { catalog: "main", schema: "nope" });
    expect(schema.json.status).toMatchObject({
      state: "FAILED",
      error: { message: expect.stringMatching(/^\[SCHEMA_NOT_FOUND\] The schema `main`\.`nope` cannot be found/) },
      sql_state: "42704",
    });
  });

  it("a catalog or schema that is not a string is refused 400 naming the field", async () => {
    const res = await execute("SELECT 1", { schema: 7 });
    expect(res).toMatchObject({
      status: 400,
      json: { error_code: "INVALID_PARAMETER_VALUE", message: "schema must be a non-empty string." },
    });
  });
});

describe("DELETE /api/2.0/sql/statements/{id} closes a statement", () => {
  it("answers 200 {}; the statement then reads CLOSED, with neither manifest nor result, and its chunks are gone", async () => {
    const done = await execute("SELECT deal_id FROM main.sales.deals");
    expect(done.json.status.state).toBe("SUCCEEDED");
    const id = done.json.statement_id as string;

    const closed = await http("DELETE", `/api/2.0/sql/statements/${id}`);
    expect(closed).toEqual({ status: 200, json: {} });

    const after = await sdk().statementExecution.getStatement({ statement_id: id });
    expect(after.status?.state).toBe("CLOSED");
    expect(after).not.toHaveProperty("manifest");
    expect(after).not.toHaveProperty("result");
    const chunk = await http("GET", `/api/2.0/sql/statements/${id}/result/chunks/0`);
    expect(chunk.status).toBe(400);
    // Closing again is harmless.
    expect(await http("DELETE", `/api/2.0/sql/statements/${id}`)).toEqual({ status: 200, json: {} });
  });

  it("a statement of another principal cannot be closed: 404, and it keeps its result", async () => {
    const done = await execute("SELECT count(*) FROM main.sales.deals");
    const id = done.json.statement_id as string;
    const probe = await http("DELETE", `/api/2.0/sql/statements/${id}`, undefined, westToken);
    expect(probe).toMatchObject({ status: 404, json: { error_code: "NOT_FOUND" } });
    const own = await sdk().statementExecution.getStatement({ statement_id: id });
    expect(own.status?.state).toBe("SUCCEEDED");
  });
});

describe("DECIMAL(p,s) columns carry their precision and scale", () => {
  it("type_text DECIMAL(p,s), type_precision and type_scale in the manifest, as the SDK reads them", async () => {
    const response = await sdk().statementExecution.executeStatement({
      warehouse_id: warehouseId,
      statement:
        "SELECT amount, CAST(amount AS DECIMAL(10,2)) AS amount_10_2, margin_pct, sum(amount) AS total FROM main.sales.deals GROUP BY amount, margin_pct LIMIT 1",
      wait_timeout: "30s",
    });
    const columns = response.manifest!.schema!.columns!.map((c) => ({
      name: c.name,
      type_name: c.type_name,
      type_text: c.type_text,
      type_precision: c.type_precision,
      type_scale: c.type_scale,
    }));
    expect(columns).toEqual([
      { name: "amount", type_name: "DECIMAL", type_text: "DECIMAL(12,2)", type_precision: 12, type_scale: 2 },
      { name: "amount_10_2", type_name: "DECIMAL", type_text: "DECIMAL(10,2)", type_precision: 10, type_scale: 2 },
      { name: "margin_pct", type_name: "DECIMAL", type_text: "DECIMAL(5,2)", type_precision: 5, type_scale: 2 },
      // An aggregate has no declared precision in the engine: the widest, at the scale of its values.
      { name: "total", type_name: "DECIMAL", type_text: "DECIMAL(38,2)", type_precision: 38, type_scale: 2 },
    ]);
  });

  it("Genie's statement_response carries the same precision and scale", async () => {
    // Genie renders the engine's result for its query attachments; this is the same engine and the same rendering.
    const principal = workspace.context.directory.principalFor(EXEC_SP, ["all-apis"], 2_000_000_000)!;
    const result = await workspace.context.engine.execute(
      principal,
      "SELECT deal_id, amount FROM main.sales.deals ORDER BY amount DESC LIMIT 2",
      [],
    );
    const response = toStatementResponse({ statementId: "s-1", state: "SUCCEEDED", result }) as Json;
    expect(response.manifest.schema.columns[1]).toEqual({
      name: "amount",
      position: 1,
      type_name: "DECIMAL",
      type_text: "DECIMAL(12,2)",
      type_precision: 12,
      type_scale: 2,
    });
  });
});

describe("errors are worded as Databricks words them", () => {
  it("a misspelt keyword is [PARSE_SYNTAX_ERROR] with SQLSTATE 42601", async () => {
    const res = await execute("SELEC region FROM main.sales.deals");
    expect(res.json.status).toEqual({
      state: "FAILED",
      error: {
        error_code: "BAD_REQUEST",
        message: "[PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'. SQLSTATE: 42601",
      },
      sql_state: "42601",
    });
    // A syntax error inside an allowed statement reads the same way.
    const inner = await execute("SELECT region FORM main.sales.deals");
    expect(inner.json.status).toMatchObject({ sql_state: "42601" });
    expect(inner.json.status.error.message).toMatch(/^\[PARSE_SYNTAX_ERROR\] Syntax error at or near '/);
  });

  it("a statement type the warehouse does not run stays [UNSUPPORTED_FEATURE]; a statement of comments only is empty", async () => {
    const res = await execute("DROP TABLE main.sales.deals");
    expect(res.json.status).toMatchObject({ state: "FAILED", sql_state: "0A000" });
    expect(res.json.status.error.message).toMatch(/^\[UNSUPPORTED_FEATURE\] Statement type not allowed/);
    const empty = await execute("/* nothing */ -- at all");
    expect(empty.json.status).toMatchObject({ state: "FAILED", sql_state: "42617" });
    expect(empty.json.status.error.message).toMatch(/^\[PARSE_EMPTY_STATEMENT\]/);
  });

  it("an INT parameter 'abc' is [CAST_INVALID_INPUT] with SQLSTATE 22018, naming the value and the type", async () => {
    const res = await execute("SELECT count(*) FROM main.sales.deals LIMIT :n", {
      parameters: [{ name: "n", value: "abc", type: "INT" }],
    });
    expect(res.json.status).toEqual({
      state: "FAILED",
      error: {
        error_code: "BAD_REQUEST",
        message:
          '[CAST_INVALID_INPUT] The value \'abc\' of the type "STRING" cannot be cast to "INT" because it is malformed. ' +
          "Correct the value as per the syntax, or change its target type. Use `try_cast` to tolerate malformed input and return NULL instead. SQLSTATE: 22018",
      },
      sql_state: "22018",
    });
    const date = await execute("SELECT :d", { parameters: [{ name: "d", value: "yesterday-ish", type: "DATE" }] });
    expect(date.json.status.error.message).toMatch(
      /^\[CAST_INVALID_INPUT\] The value 'yesterday-ish' of the type "STRING" cannot be cast to "DATE"/,
    );
  });

  it("a missing table is [TABLE_OR_VIEW_NOT_FOUND], named as the statement wrote it", async () => {
    const res = await execute("SELECT * FROM main.sales.x");
    expect(res.json.status).toEqual({
      state: "FAILED",
      error: {
        error_code: "BAD_REQUEST",
        message:
          "[TABLE_OR_VIEW_NOT_FOUND] The table or view `main`.`sales`.`x` cannot be found. Verify the spelling and correctness of the schema and catalog. " +
          "If you did not qualify the name with a schema, verify the current_schema() output, or qualify the name with the correct schema and catalog. " +
          "To tolerate the error on drop use DROP VIEW IF EXISTS or DROP TABLE IF EXISTS. SQLSTATE: 42P01",
      },
      sql_state: "42P01",
    });
    for (const [statement, name] of [
      ["SELECT * FROM x", "`x`"],
      ["SELECT * FROM sales.x", "`sales`.`x`"],
      ["SELECT * FROM `main`.sales.x", "`main`.`sales`.`x`"],
      ["SELECT * FROM samples.nyctaxi.trips", "`samples`.`nyctaxi`.`trips`"],
    ]) {
      const { json } = await execute(statement!);
      expect(json.status.error.message).toMatch(
        new RegExp(`^\\[TABLE_OR_VIEW_NOT_FOUND\\] The table or view ${name!.replace(/\./g, "\\.")} cannot be found`),
      );
    }
  });
});
