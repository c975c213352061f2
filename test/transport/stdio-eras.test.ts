import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProtocolError, type Client } from "@modelcontextprotocol/client";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { connectStdioEra, type Era } from "../support/era-clients.js";
import { requestIdOf, waitForAudit } from "../support/audit-table.js";
import { textOf } from "../support/results.js";
import { serverServicePrincipal, workspaceEnv } from "../server/stdio-env.js";

// stdio carries no bearer token: its one caller is the local identity, here the server's service principal (M2M).
const M2M_TOOLS = ["check_identity", "query_sales_data"];

let workspace: LocalWorkspace;
const clients = new Map<Era, Client>();
beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
  const env = () => workspaceEnv(workspace, { config: { identity: { m2m: { tools: M2M_TOOLS } } } });
  const [modern, legacy] = await Promise.all([connectStdioEra("modern", env()), connectStdioEra("legacy", env())]);
  clients.set("modern", modern);
  clients.set("legacy", legacy);
}, 60_000);
afterAll(async () => {
  await Promise.all([...clients.values()].map((c) => c.close()));
  await workspace?.close();
});

describe.each<Era>(["modern", "legacy"])("a %s-era client over stdio", (era) => {
  const client = () => clients.get(era)!;

  it("negotiated its era with the server: 2026-07-28 through server/discover, 2025-11-25 through initialize", () => {
    expect(client().getNegotiatedProtocolVersion()).toBe(era === "modern" ? "2026-07-28" : "2025-11-25");
  });

  it("lists exactly the tools of its identity and calls one as the workspace principal", async () => {
    const { tools } = await client().listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...M2M_TOOLS].sort());
    const result = await client().callTool({ name: "check_identity", arguments: {} });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect((result.structuredContent as { workspace_principal: string }).workspace_principal).toBe(
      serverServicePrincipal(workspace).applicationId,
    );
    const id = requestIdOf(result);
    const rows = await waitForAudit(workspace, (all) => all.some((r) => r.request_id === id));
    expect(rows.find((r) => r.request_id === id)).toMatchObject({ outcome: "allowed", mode: "m2m" });
  });

  it("gets JSON-RPC -32602 for a tool outside its set, audited as denied", async () => {
    const refused = await client()
      .callTool({ name: "query_audit_log", arguments: {} })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(refused).toBeInstanceOf(ProtocolError);
    expect((refused as ProtocolError).code).toBe(-32602);
    const id = ((refused as ProtocolError).data as { request_id: string }).request_id;
    const rows = await waitForAudit(workspace, (all) => all.some((r) => r.request_id === id));
    expect(rows.find((r) => r.request_id === id)).toMatchObject({ outcome: "denied", error_code: "TOOL_NOT_ALLOWED" });
  });
});
