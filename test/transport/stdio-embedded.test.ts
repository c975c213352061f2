import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { connectStdio } from "../support/mcp-clients.js";
import { rowsAsObjects, textOf } from "../support/results.js";

let client: Client;
beforeAll(async () => {
  // No DATABRICKS_HOST: the server starts its own local workspace (free ports, so parallel test files don't clash).
  client = await connectStdio({
    MCP_AUDIT_SPOOL_DIR: mkdtempSync(join(tmpdir(), "governed-mcp-stdio-")),
    MCP_LOCAL_WORKSPACE_PORT: "0",
    MCP_LOCAL_IDP_PORT: "0",
  });
}, 90_000);
afterAll(async () => {
  await client?.close();
});

describe("stdio on the embedded local workspace", () => {
  it("acts as the seeded demo user, whom Unity Catalog governs: all regions, margins masked", async () => {
    const who = await client.callTool({ name: "check_identity", arguments: {} });
    expect(who.isError, textOf(who)).toBeFalsy();
    expect(who.structuredContent).toMatchObject({
      workspace_principal: "maria.manager@example.com",
      human: "maria.manager@example.com",
    });
    const sales = await client.callTool({
      name: "query_sales_data",
      arguments: { group_by: "region", metrics: ["deal_count", "avg_margin_pct"] },
    });
    expect(sales.isError, textOf(sales)).toBeFalsy();
    const rows = rowsAsObjects(sales.structuredContent);
    expect(rows.map((r) => r.region).sort()).toEqual(["CENTRAL", "EAST", "WEST"]);
    expect(rows.every((r) => r.avg_margin_pct === null)).toBe(true);
  });
});
