import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp, connectStdio, federationBearer, oboBearer } from "../support/mcp-clients.js";
import { rowsAsObjects, textOf } from "../support/results.js";
import { requestIdOf, waitForAudit } from "../support/audit-table.js";
import { workspaceEnv } from "./stdio-env.js";

const WEST_USER = "wendy.west@example.com";
const OBO_USER = "olivia.obo@example.com";

/** A team's own catalog: its table with an identity-bound parameter, a Genie space, a schema of functions, a connection. */
function teamCatalog(spaceId: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "team-catalog-")), "tools.yaml");
  writeFileSync(
    path,
    `tools:
  - name: my_deals
    kind: sql
    title: My deals
    description: The deals I own, biggest first, optionally from one quarter.
    warehouse: \${workspace.warehouseId}
    statement: >-
      SELECT :me AS me, deal_id, owner_email, amount FROM main.sales.deals
      WHERE owner_email = :me AND (:quarter IS NULL OR quarter = :quarter)
      ORDER BY amount DESC, deal_id LIMIT :row_limit
    parameters:
      - { name: me, fromIdentity: email }
      - { name: quarter, pattern: '^\\d{4}-Q[1-4]$', description: "Fiscal quarter, e.g. 2026-Q1." }
    roles: [west_sales, admin]
  - name: ask_sales_space
    kind: genie
    title: Ask the sales space
    description: Asks our Genie space a question about sales, answered as you.
    space: ${spaceId}
    roles: [admin]
  - name: sales_functions
    kind: uc-functions
    schema: main.sales
    prefix: fn_
    warehouse: \${workspace.warehouseId}
    roles: [west_sales, admin]
  - name: repo_search
    kind: uc-connection
    title: Repository search
    description: Searches GitHub repositories through our github connection, as you.
    connection: github
    path: /search/repositories
    query:
      - { name: q, required: true, description: Search terms. }
    roles: [admin]
`,
  );
  return path;
}

let stack: TestStack;
let catalogFile: string;
beforeAll(async () => {
  // The catalog names the seed's Genie space; the stack's workspace is started first to learn its id.
  stack = await startTestStack();
  catalogFile = teamCatalog(stack.workspace.context.seed.genieSpaces[0]!.id);
  await stack.app.stop();
  const workspace = stack.workspace;
  stack = await startTestStack({ env: { MCP_TOOLS_FILE: catalogFile } });
  await workspace.close();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe("a team's own catalog file (MCP_TOOLS_FILE), over HTTP", () => {
  let west: Client;
  let admin: Client;
  beforeAll(async () => {
    west = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "west_sales"));
    admin = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "admin"));
  });
  afterAll(async () => {
    await west?.close();
    await admin?.close();
  });

  it("offers its tools by role, the schema's functions listed from Unity Catalog at start-up", async () => {
    expect((await west.listTools()).tools.map((t) => t.name)).toEqual(["my_deals", "fn_get_region_summary"]);
    expect((await admin.listTools()).tools.map((t) => t.name)).toEqual([
      "my_deals",
      "ask_sales_space",
      "fn_get_region_summary",
      "repo_search",
    ]);
  });

  it("binds the caller's verified email: passing it as an argument is refused, and audited", async () => {
    const forged = await west.callTool({ name: "my_deals", arguments: { me: "ada.admin@example.com" } });
    expect(forged.isError).toBe(true);
    expect(forged._meta?.error_code).toBe("INVALID_ARGUMENT");
    const id = requestIdOf(forged);
    const rows = await waitForAudit(stack.workspace, (r) => r.some((x) => x.request_id === id));
    expect(rows.find((r) => r.request_id === id)).toMatchObject({
      tool: "my_deals",
      outcome: "failed",
      role: "west_sales",
    });
    const own = await west.callTool({ name: "my_deals", arguments: {} });
    expect(own.isError, textOf(own)).toBeFalsy();
    const deals = rowsAsObjects(own.structuredContent);
    expect(deals.length).toBeGreaterThan(0);
    expect(new Set(deals.map((d) => [d.me, d.owner_email].join()))).toEqual(new Set([`${WEST_USER},${WEST_USER}`]));
  });

  it("runs the discovered function, the Genie space and the connection as the caller", async () => {
    const summary = await west.callTool({ name: "fn_get_region_summary", arguments: {} });
    expect(rowsAsObjects(summary.structuredContent).map((r) => r.region)).toEqual(["WEST"]);
    const genie = await admin.callTool({ name: "ask_sales_space", arguments: { question: "how many deals" } });
    expect(genie.isError, textOf(genie)).toBeFalsy();
    const repos = await admin.callTool({ name: "repo_search", arguments: { q: "databricks" } });
    expect(repos.isError, textOf(repos)).toBeFalsy();
    expect((repos.structuredContent as { response: { total_count: number } }).response.total_count).toBeGreaterThan(0);
  });
});

describe("the same catalog over stdio", () => {
  let client: Client;
  beforeAll(async () => {
    const pat = await stack.workspace.tokens.issue(OBO_USER, ["all-apis"], 3600);
    client = await connectStdio(
      workspaceEnv(stack.workspace, { extra: { DATABRICKS_TOKEN: pat.access_token, MCP_TOOLS_FILE: catalogFile } }),
    );
  }, 60_000);
  afterAll(async () => {
    await client?.close();
  });

  it("binds the local user's email and refuses it as an argument", async () => {
    const forged = await client.callTool({ name: "my_deals", arguments: { me: WEST_USER } });
    expect(forged._meta?.error_code).toBe("INVALID_ARGUMENT");
    const own = await client.callTool({ name: "my_deals", arguments: {} });
    expect(own.isError, textOf(own)).toBeFalsy();
    expect(new Set(rowsAsObjects(own.structuredContent).map((d) => d.me))).toEqual(new Set([OBO_USER]));
  });
});

describe("an OBO caller over HTTP", () => {
  it("gets its own email bound, whoever it names", async () => {
    const client = await connectHttp(stack.mcpUrl, await oboBearer(stack.workspace, OBO_USER));
    try {
      const own = await client.callTool({ name: "my_deals", arguments: {} });
      expect(new Set(rowsAsObjects(own.structuredContent).map((d) => d.me))).toEqual(new Set([OBO_USER]));
    } finally {
      await client.close();
    }
  });
});
