import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { DEFAULT_TOOL_NAMES as TOOL_NAMES } from "../../tools/index.js";
type ToolName = string;
import { connectStdio } from "../support/mcp-clients.js";
import { callOrRefusal, rowsAsObjects, textOf } from "../support/results.js";
import { requestIdOf, waitForAudit } from "../support/audit-table.js";
import { MINIMAL_ARGS, UC_REFUSES_USERS } from "./matrix-expectations.js";
import { serverServicePrincipal, workspaceEnv } from "./stdio-env.js";

const OBO_USERS = ["olivia.obo@example.com", "wendy.west@example.com"] as const;
const M2M_TOOLS: ToolName[] = ["check_identity", "query_sales_data"];

let workspace: LocalWorkspace;
const clients = new Map<string, Client>();
beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
  const pats = await Promise.all(OBO_USERS.map((u) => workspace.tokens.issue(u, ["all-apis"], 3600)));
  const started = await Promise.all([
    ...OBO_USERS.map((u, i) =>
      connectStdio(workspaceEnv(workspace, { extra: { DATABRICKS_TOKEN: pats[i]!.access_token } })),
    ),
    connectStdio(workspaceEnv(workspace, { config: { identity: { m2m: { tools: M2M_TOOLS } } } })),
  ]);
  OBO_USERS.forEach((u, i) => clients.set(u, started[i]!));
  clients.set("m2m", started[2]!);
}, 60_000);
afterAll(async () => {
  await Promise.all([...clients.values()].map((c) => c.close()));
  await workspace?.close();
});

describe.each(OBO_USERS)("stdio as the OBO user %s (DATABRICKS_TOKEN)", (userName) => {
  const client = () => clients.get(userName)!;

  it("lists every tool: Unity Catalog alone decides for a user's own token", async () => {
    const { tools } = await client().listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...TOOL_NAMES].sort());
  });

  it("is seen by the workspace as the human: current_user() is the email", async () => {
    const result = await client().callTool({ name: "check_identity", arguments: {} });
    expect(result.isError, textOf(result)).toBeFalsy();
    const s = result.structuredContent as Record<string, unknown>;
    expect(s.workspace_principal).toBe(userName);
    expect(s.mode).toBe("pat");
    // A PAT names no one; the server asked the workspace once at start, so audit rows carry the human.
    expect(s.human).toBe(userName);
    expect(JSON.stringify(result)).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  });

  it("gets Unity Catalog's rows for the human, margins masked", async () => {
    const result = await client().callTool({ name: "query_sales_data", arguments: { limit: 1000 } });
    expect(result.isError, textOf(result)).toBeFalsy();
    const rows = rowsAsObjects(result.structuredContent);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.margin_pct === null)).toBe(true);
    if (userName.startsWith("olivia")) expect(rows.every((r) => r.owner_email === userName)).toBe(true);
    else {
      expect(rows.every((r) => r.region === "WEST" || r.owner_email === userName)).toBe(true);
      expect(rows.some((r) => r.region === "WEST")).toBe(true);
    }
  });

  it("may call the tools Unity Catalog grants to all users, and is denied the audit log and the connections", async () => {
    for (const tool of TOOL_NAMES.filter((t) => !UC_REFUSES_USERS.includes(t))) {
      const result = await client().callTool({ name: tool, arguments: MINIMAL_ARGS[tool] });
      expect(result.isError, `${tool}: ${textOf(result)}`).toBeFalsy();
    }
    for (const tool of UC_REFUSES_USERS) {
      const denied = await client().callTool({ name: tool, arguments: MINIMAL_ARGS[tool] });
      expect(denied.isError).toBe(true);
      expect(denied._meta?.error_code, `${tool}: ${textOf(denied)}`).toBe("ACCESS_DENIED");
    }
  });
});

describe("stdio as the server's service principal (M2M client credentials)", () => {
  const client = () => clients.get("m2m")!;

  it("lists exactly the configured identity.m2m.tools", async () => {
    const { tools } = await client().listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...M2M_TOOLS].sort());
  });

  it("is seen by the workspace as the service principal's application id, with no human", async () => {
    const result = await client().callTool({ name: "check_identity", arguments: {} });
    expect(result.isError, textOf(result)).toBeFalsy();
    const s = result.structuredContent as Record<string, unknown>;
    expect(s.workspace_principal).toBe(serverServicePrincipal(workspace).applicationId);
    expect(s.human).toBeNull();
    expect(s.mode).toBe("m2m");
  });

  it("is refused tools outside its configured set with TOOL_NOT_ALLOWED, audited as denied", async () => {
    const ids: string[] = [];
    for (const tool of TOOL_NAMES.filter((t) => !M2M_TOOLS.includes(t))) {
      const result = await callOrRefusal(client(), { name: tool, arguments: MINIMAL_ARGS[tool] });
      expect(result.jsonRpcCode).toBe(-32602);
      expect(result._meta?.error_code).toBe("TOOL_NOT_ALLOWED");
      ids.push(requestIdOf(result));
    }
    const rows = await waitForAudit(workspace, (r) => ids.every((id) => r.some((x) => x.request_id === id)));
    for (const id of ids)
      expect(rows.filter((r) => r.request_id === id)).toMatchObject([
        { outcome: "denied", error_code: "TOOL_NOT_ALLOWED", mode: "m2m" },
      ]);
  });

  it("gets no sales rows: Unity Catalog grants its service principal no SELECT (ACCESS_DENIED)", async () => {
    const result = await client().callTool({ name: "query_sales_data", arguments: { limit: 5 } });
    expect(result.isError).toBe(true);
    expect(result._meta?.error_code).toBe("ACCESS_DENIED");
  });
});
