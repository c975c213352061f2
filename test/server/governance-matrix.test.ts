import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { DEFAULT_RBAC, TOOL_NAMES } from "../../src/config/schema.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp, federationBearer, oboBearer, seedUserOfRole } from "../support/mcp-clients.js";
import { rowsAsObjects, textOf } from "../support/results.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const MASK_LIFTED = new Set(["executive", "finance", "admin"]);
const REGION_OF: Record<string, string | undefined> = { west_sales: "WEST", east_sales: "EAST" };

async function callerFor(kind: "federation" | "obo", who: string): Promise<Client> {
  const headers =
    kind === "federation" ? await federationBearer(stack.workspace, who) : await oboBearer(stack.workspace, who);
  return connectHttp(stack.mcpUrl, headers);
}

describe.each(Object.keys(DEFAULT_RBAC))("Federation role %s over HTTP", (role) => {
  let client: Client;
  beforeAll(async () => {
    client = await callerFor("federation", role);
  });
  afterAll(async () => {
    await client?.close();
  });

  it("lists exactly the tools of its row of the matrix", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...DEFAULT_RBAC[role]!].sort());
  });

  it("acts in the workspace as the role's service principal, keeping the human beside it", async () => {
    const result = await client.callTool({ name: "check_identity", arguments: {} });
    expect(result.isError).toBeFalsy();
    const sp = stack.workspace.context.seed.servicePrincipals.find((s) =>
      s.federationPolicies.some((p) => p.subject === role),
    )!;
    const text = JSON.stringify(result.structuredContent);
    expect(text).toContain(sp.applicationId);
    expect(text).toContain(seedUserOfRole(stack.workspace, role).idpSubject!);
    expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  });

  it("sees only the rows and masks Unity Catalog gives its service principal", async () => {
    const result = await client.callTool({ name: "query_sales_data", arguments: { limit: 1000 } });
    expect(result.isError).toBeFalsy();
    const rows = rowsAsObjects(result.structuredContent);
    expect(rows.length).toBeGreaterThan(0);
    const regions = new Set(rows.map((r) => r.region));
    if (REGION_OF[role]) expect([...regions]).toEqual([REGION_OF[role]]);
    else expect(regions.size).toBe(3);
    const margins = rows.map((r) => r.margin_pct);
    if (MASK_LIFTED.has(role)) expect(margins.every((m) => m !== null && m !== undefined)).toBe(true);
    else expect(margins.every((m) => m === null)).toBe(true);
  });

  it("is refused every tool outside its row, with a clear error", async () => {
    for (const tool of TOOL_NAMES.filter((t) => !DEFAULT_RBAC[role]!.includes(t))) {
      const result = await client.callTool({ name: tool, arguments: {} });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain("TOOL_NOT_ALLOWED");
    }
  });
});

describe.each(["olivia.obo@example.com", "wendy.west@example.com"])("OBO user %s over HTTP", (userName) => {
  let client: Client;
  beforeAll(async () => {
    client = await callerFor("obo", userName);
  });
  afterAll(async () => {
    await client?.close();
  });

  it("is seen by the workspace as the human", async () => {
    const result = await client.callTool({ name: "check_identity", arguments: {} });
    expect(result.isError).toBeFalsy();
    expect(JSON.stringify(result.structuredContent)).toContain(userName);
  });

  it("gets Unity Catalog's answer for the human: own deals or own region, margins masked", async () => {
    const result = await client.callTool({ name: "query_sales_data", arguments: { limit: 1000 } });
    expect(result.isError).toBeFalsy();
    const rows = rowsAsObjects(result.structuredContent);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.margin_pct === null)).toBe(true);
    if (userName.startsWith("olivia")) expect(rows.every((r) => r.owner_email === userName)).toBe(true);
    else expect(rows.every((r) => r.region === "WEST" || r.owner_email === userName)).toBe(true);
  });

  it("cannot read the audit log: Unity Catalog denies it", async () => {
    const result = await client.callTool({ name: "query_audit_log", arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/ACCESS_DENIED|QUERY_FAILED/);
  });
});
