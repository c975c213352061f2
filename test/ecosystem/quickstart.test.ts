import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp } from "../support/mcp-clients.js";
import { rowsAsObjects } from "../support/results.js";

const quickstart = readFileSync(resolve(import.meta.dirname, "../../docs/quickstart.md"), "utf8");

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe("docs/quickstart.md", () => {
  it("the demo client it names gets a west_sales token the server accepts: five tools, WEST rows, margins masked", async () => {
    const [, client, secret] = /-u (idp-client-[\w-]+):([\w-]+)/.exec(quickstart)!;
    const res = await fetch(`${stack.workspace.idp.issuer}/token`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${client}:${secret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "grant_type=client_credentials&scope=role",
    });
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };

    const mcp = await connectHttp(stack.mcpUrl, { Authorization: `Bearer ${access_token}` });
    try {
      const tools = (await mcp.listTools()).tools.map((t) => t.name).sort();
      expect(tools).toEqual([
        "check_identity",
        "genie_query",
        "get_region_summary",
        "query_knowledge_base",
        "query_sales_data",
      ]);
      const sales = await mcp.callTool({ name: "query_sales_data", arguments: { limit: 50 } });
      const rows = rowsAsObjects(sales.structuredContent);
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => r.region))).toEqual(new Set(["WEST"]));
      expect(rows.every((r) => r.margin_pct === null)).toBe(true);
    } finally {
      await mcp.close();
    }
  });
});
