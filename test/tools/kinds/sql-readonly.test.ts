import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalWorkspace } from "../../../emulator/workspace.js";
import type { WorkspaceHttpClient } from "../../../src/databricks/http-client.js";
import { ErrorCodes, type GovernedError } from "../../../src/errors.js";
import { buildCatalog } from "../../../tools/catalog/load.js";
import { readOnlyRefusal } from "../../../tools/kinds/read-only-statement.js";
import { closeKindWorkspace, startKindWorkspace, userToolContext } from "../../support/tool-context.js";
import { WEST_SP } from "../../support/sql-workspace.js";

describe("the read-only statement guard", () => {
  it.each([
    "SELECT * FROM main.sales.deals",
    "  -- leading comment\n select 1",
    "WITH t AS (SELECT 1 AS x) SELECT x FROM t",
    "DESCRIBE TABLE main.sales.deals",
    "SHOW TABLES IN main.sales",
    "SELECT 'DROP TABLE x; DELETE' AS s;",
    "SELECT `update` FROM t /* insert */",
  ])("lets through %j", (sql) => {
    expect(readOnlyRefusal(sql)).toBeUndefined();
  });

  it.each([
    ["DELETE FROM main.sales.deals", /only SELECT/],
    ["SELECT 1; DROP TABLE main.sales.deals", /one statement at a time/],
    ["WITH t AS (SELECT 1) INSERT INTO x SELECT * FROM t", /INSERT is not allowed/],
    ["SELECT * FROM t WHERE a = 'unterminated", /unterminated/],
    ["/* only a comment */", /empty/],
    ["SET spark.sql.ansi.enabled = false", /only SELECT/],
  ])("refuses %j", (sql, message) => {
    expect(readOnlyRefusal(sql)).toMatch(message);
  });
});

describe("the sql-readonly kind", () => {
  let workspace: LocalWorkspace;
  let http: WorkspaceHttpClient;
  beforeAll(async () => {
    ({ workspace, http } = await startKindWorkspace());
  });
  afterAll(() => closeKindWorkspace({ workspace, http }));
  const tool = (extra: Record<string, unknown> = {}) =>
    buildCatalog(
      {
        tools: [
          {
            name: "run_sql",
            kind: "sql-readonly",
            title: "Run SQL",
            description: "Runs one read-only statement as you; Unity Catalog decides.",
            warehouse: workspace.context.seed.warehouses[0]!.id,
            ...extra,
          },
        ],
      },
      { workspace: {} },
    ).tools[0]!;

  it("runs a read as the caller, Unity Catalog's row filter applying", async () => {
    const ctx = await userToolContext(workspace, http, WEST_SP, { mode: "federation", role: "west_sales" });
    const out = await tool().handler({ statement: "SELECT DISTINCT region FROM main.sales.deals", limit: 10 }, ctx);
    expect((out.structured as { rows: unknown[][] }).rows).toEqual([["WEST"]]);
  });

  it("refuses a write before anything is sent", async () => {
    const ctx = await userToolContext(workspace, http, "ada.admin@example.com");
    const error = await tool()
      .handler({ statement: "DELETE FROM main.sales.deals", limit: 10 }, ctx)
      .catch((e: GovernedError) => e);
    expect((error as GovernedError).code).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(ctx.statements).toEqual([]);
  });

  it("stops at its byte limit and says the answer is truncated", async () => {
    const ctx = await userToolContext(workspace, http, "ada.admin@example.com");
    const out = await tool({ maxBytes: 200 }).handler(
      { statement: "SELECT deal_id, account FROM main.sales.deals", limit: 100 },
      ctx,
    );
    const s = out.structured as { rows: unknown[][]; truncated: boolean };
    expect(s.truncated).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(s.rows))).toBeLessThanOrEqual(220);
  });
});
