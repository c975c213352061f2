import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProtocolError } from "@modelcontextprotocol/client";
import { startTestStack, type TestStack } from "../support/server.js";
import { federationBearer } from "../support/mcp-clients.js";
import { connectHttpEra, type Era } from "../support/era-clients.js";
import { requestIdOf, waitForAudit } from "../support/audit-table.js";
import { rowsAsObjects, textOf } from "../support/results.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

describe.each<Era>(["modern", "legacy"])("a %s-era client over streamable HTTP with a Federation token", (era) => {
  it("negotiates its era: 2026-07-28 through server/discover, 2025-11-25 through initialize", async () => {
    const client = await connectHttpEra(era, stack.mcpUrl, await federationBearer(stack.workspace, "west_sales"));
    expect(client.getNegotiatedProtocolVersion()).toBe(era === "modern" ? "2026-07-28" : "2025-11-25");
    expect(client.getServerVersion()?.name).toBe("databricks-governed-mcp");
    await client.close();
  });

  it("lists only the tools of the caller's role", async () => {
    const west = await connectHttpEra(era, stack.mcpUrl, await federationBearer(stack.workspace, "west_sales"));
    const exec = await connectHttpEra(era, stack.mcpUrl, await federationBearer(stack.workspace, "executive"));
    const westTools = (await west.listTools()).tools.map((t) => t.name);
    const execTools = (await exec.listTools()).tools.map((t) => t.name);
    expect(westTools).toContain("query_sales_data");
    expect(westTools).not.toContain("ask_supervisor");
    expect(execTools).toContain("ask_supervisor");
    await Promise.all([west.close(), exec.close()]);
  });

  it("calls a tool and gets Unity Catalog's rows for the role, audited", async () => {
    const client = await connectHttpEra(era, stack.mcpUrl, await federationBearer(stack.workspace, "west_sales"));
    const result = await client.callTool({ name: "query_sales_data", arguments: { limit: 50 } });
    expect(result.isError, textOf(result)).toBeFalsy();
    const rows = rowsAsObjects(result.structuredContent);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.region === "WEST")).toBe(true);
    const id = requestIdOf(result);
    const audit = await waitForAudit(stack.workspace, (all) => all.some((r) => r.request_id === id));
    expect(audit.find((r) => r.request_id === id)).toMatchObject({ outcome: "allowed", role: "west_sales" });
    await client.close();
  });

  it("gets JSON-RPC -32602 for a tool its role may not use, and the refusal is audited as denied", async () => {
    const client = await connectHttpEra(era, stack.mcpUrl, await federationBearer(stack.workspace, "west_sales"));
    const refused = await client.callTool({ name: "ask_supervisor", arguments: { question: "hi" } }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ProtocolError);
    const { code, data } = refused as ProtocolError;
    expect(code).toBe(-32602);
    const id = (data as { request_id: string }).request_id;
    const audit = await waitForAudit(stack.workspace, (all) => all.some((r) => r.request_id === id));
    expect(audit.find((r) => r.request_id === id)).toMatchObject({
      tool: "ask_supervisor",
      outcome: "denied",
      error_code: "TOOL_NOT_ALLOWED",
    });
    await client.close();
  });

  it("receives Genie's progress notifications before the answer, on the call's own stream", async () => {
    const client = await connectHttpEra(era, stack.mcpUrl, await federationBearer(stack.workspace, "west_sales"));
    const progress: string[] = [];
    const result = await client.callTool(
      { name: "genie_query", arguments: { question: "What is the total amount by region?" } },
      { onprogress: (p) => progress.push(p.message ?? "") },
    );
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.some((m) => m.startsWith("Genie"))).toBe(true);
    await client.close();
  });

  it("gets an input-validation failure as a tool result with isError, so a model can correct itself", async () => {
    const client = await connectHttpEra(era, stack.mcpUrl, await federationBearer(stack.workspace, "west_sales"));
    const result = await client.callTool({ name: "query_sales_data", arguments: { limit: "many" } });
    expect(result.isError).toBe(true);
    expect(result._meta?.error_code).toBe("INVALID_ARGUMENT");
    await client.close();
  });
});
