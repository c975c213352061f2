import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { DEFAULT_RBAC, DEFAULT_TOOL_NAMES as TOOL_NAMES } from "../../tools/index.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp, federationBearer, oboBearer, seedUserOfRole } from "../support/mcp-clients.js";
import { callOrRefusal, rowsAsObjects, textOf } from "../support/results.js";
import { requestIdOf, waitForAudit } from "../support/audit-table.js";
import { MASK_LIFTED, MINIMAL_ARGS, REGION_OF, UC_REFUSES_USERS } from "./matrix-expectations.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

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

  it("acts in the workspace as the role's service principal (current_user()), keeping the human beside it", async () => {
    const result = await client.callTool({ name: "check_identity", arguments: {} });
    expect(result.isError).toBeFalsy();
    const sp = stack.workspace.context.seed.servicePrincipals.find((s) =>
      s.federationPolicies.some((p) => p.subject === role),
    )!;
    const s = result.structuredContent as Record<string, unknown>;
    expect(s.workspace_principal).toBe(sp.applicationId);
    // DESIGN.md: the human of a Federation caller is the IdP's email or subject.
    const user = seedUserOfRole(stack.workspace, role);
    expect([user.userName, user.idpSubject]).toContain(s.human);
    expect(s.role).toBe(role);
    expect(s.mode).toBe("federation");
    expect(s.tools_allowed).toEqual(DEFAULT_RBAC[role]);
    expect(JSON.stringify(result)).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
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
    if (MASK_LIFTED.has(role)) expect(margins.every((m) => typeof m === "number")).toBe(true);
    else expect(margins.every((m) => m === null)).toBe(true);
  });

  it("gets its own regions from the region summary: the row filter applies inside the function", async () => {
    const result = await client.callTool({ name: "get_region_summary", arguments: { limit: 10 } });
    expect(result.isError, textOf(result)).toBeFalsy();
    const regions = rowsAsObjects(result.structuredContent).map((r) => r.region);
    expect(regions).toEqual(REGION_OF[role] ? [REGION_OF[role]] : ["CENTRAL", "EAST", "WEST"]);
  });

  it("may call every tool of its row", async () => {
    for (const tool of DEFAULT_RBAC[role]!) {
      const result = await client.callTool({ name: tool, arguments: MINIMAL_ARGS[tool] });
      expect(result.isError, `${tool}: ${textOf(result)}`).toBeFalsy();
    }
  });

  it("is refused every tool outside its row with TOOL_NOT_ALLOWED, and each refusal is audited as denied", async () => {
    const refused = TOOL_NAMES.filter((t) => !DEFAULT_RBAC[role]!.includes(t));
    const ids: string[] = [];
    for (const tool of refused) {
      const result = await callOrRefusal(client, { name: tool, arguments: MINIMAL_ARGS[tool] });
      expect(result.isError).toBe(true);
      // The spec's "unknown tool": a JSON-RPC invalid-params error, not a tool result.
      expect(result.jsonRpcCode).toBe(-32602);
      expect(textOf(result)).toContain("TOOL_NOT_ALLOWED");
      expect(result._meta?.error_code).toBe("TOOL_NOT_ALLOWED");
      ids.push(requestIdOf(result));
    }
    const rows = await waitForAudit(stack.workspace, (r) => ids.every((id) => r.some((x) => x.request_id === id)));
    for (const [i, id] of ids.entries()) {
      const row = rows.filter((r) => r.request_id === id);
      expect(row).toHaveLength(1);
      expect(row[0]).toMatchObject({ tool: refused[i], outcome: "denied", error_code: "TOOL_NOT_ALLOWED", role });
      expect(row[0]!.statement_ids).toBe("[]");
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

  it("lists every tool: Unity Catalog alone decides for OBO callers by default", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...TOOL_NAMES].sort());
  });

  it("is seen by the workspace as the human: current_user() is the email", async () => {
    const result = await client.callTool({ name: "check_identity", arguments: {} });
    expect(result.isError).toBeFalsy();
    const s = result.structuredContent as Record<string, unknown>;
    expect(s.workspace_principal).toBe(userName);
    expect(s.human).toBe(userName);
    expect(s.mode).toBe("obo");
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

  it("cannot read the audit log: Unity Catalog denies it with ACCESS_DENIED, audited as denied", async () => {
    const result = await client.callTool({ name: "query_audit_log", arguments: {} });
    expect(result.isError).toBe(true);
    expect(result._meta?.error_code).toBe("ACCESS_DENIED");
    expect(textOf(result)).toMatch(/^\[ACCESS_DENIED\] Unity Catalog denied/);
    const id = requestIdOf(result);
    const rows = await waitForAudit(stack.workspace, (r) => r.some((x) => x.request_id === id));
    expect(rows.find((r) => r.request_id === id)).toMatchObject({
      outcome: "denied",
      error_code: "ACCESS_DENIED",
      mode: "obo",
      human: userName,
    });
  });

  it("cannot call through a connection it may not USE: Unity Catalog denies it with ACCESS_DENIED", async () => {
    for (const tool of ["github_search", "external_api_call"]) {
      const result = await client.callTool({ name: tool, arguments: MINIMAL_ARGS[tool] });
      expect(result.isError).toBe(true);
      expect(result._meta?.error_code, textOf(result)).toBe("ACCESS_DENIED");
    }
  });

  it("may call the other tools, Unity Catalog granting them to all users", async () => {
    for (const tool of TOOL_NAMES.filter((t) => !UC_REFUSES_USERS.includes(t))) {
      const result = await client.callTool({ name: tool, arguments: MINIMAL_ARGS[tool] });
      expect(result.isError, `${tool}: ${textOf(result)}`).toBeFalsy();
    }
  });
});
