import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { rpc } from "../support/json-rpc.js";
import { connectHttp, federationBearer } from "../support/mcp-clients.js";
import { rowsAsObjects } from "../support/results.js";

// Genie walks 7 status steps; at 1.5 s a step an uncancelled call runs for about 10 s.
const STEP_MS = 1500;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ genieStepDelayMs: STEP_MS });
});
afterAll(async () => {
  await stack?.stop();
});

/** One raw JSON-RPC POST, as a stateless client sends it; resolves with the HTTP status and body text. */
/** One raw JSON-RPC POST, as a stateless client sends it. */
function post(headers: Record<string, string>, message: unknown) {
  return rpc(stack.mcpUrl, message, headers);
}

/** The audit rows of a tool (read through query_audit_log as the given caller) once one of them satisfies `wanted`. */
async function auditRowsOf(
  headers: Record<string, string>,
  requestTool: string,
  wanted: (row: Record<string, unknown>) => boolean = () => true,
): Promise<Record<string, unknown>[]> {
  const reader = await connectHttp(stack.mcpUrl, headers);
  try {
    for (let attempt = 0; attempt < 40; attempt += 1) {
      const audit = await reader.callTool({ name: "query_audit_log", arguments: { tool: requestTool } });
      const rows = rowsAsObjects(audit.structuredContent);
      if (rows.some(wanted)) return rows;
      await new Promise((r) => setTimeout(r, 100));
    }
    return [];
  } finally {
    await reader.close();
  }
}

describe("cancellation over stateless streamable HTTP", () => {
  it("a notifications/cancelled on a new request stops the caller's running Genie call, which is audited as cancelled", async () => {
    const admin = await federationBearer(stack.workspace, "admin");
    const started = Date.now();
    const call = post(admin, {
      jsonrpc: "2.0",
      id: "genie-1",
      method: "tools/call",
      params: { name: "genie_query", arguments: { question: "total amount by region" } },
    });
    await new Promise((r) => setTimeout(r, 400));
    const cancel = await post(admin, {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: "genie-1", reason: "user pressed stop" },
    });
    expect(cancel.status).toBe(202);
    const answer = await call;
    const elapsed = Date.now() - started;
    expect(answer.text).toContain("CANCELLED");
    expect(elapsed).toBeLessThan(STEP_MS * 7);
    const rows = await auditRowsOf(admin, "genie_query", (r) => r.role === "admin");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: "cancelled", error_code: "CANCELLED" });
  });

  it("another caller's notifications/cancelled with the same request id does not touch the call", async () => {
    const admin = await federationBearer(stack.workspace, "executive");
    const west = await federationBearer(stack.workspace, "west_sales");
    const call = post(admin, {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "genie_query", arguments: { question: "how many deals" } },
    });
    await new Promise((r) => setTimeout(r, 400));
    await post(west, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 7 } });
    const answer = await call;
    expect(answer.text).not.toContain("CANCELLED");
    expect(answer.text).toContain('"status":"COMPLETED"');
  }, 30_000);

  it("an MCP SDK client that aborts a call gets its Genie polling stopped", async () => {
    const client = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "finance"));
    const controller = new AbortController();
    const call = client.callTool(
      { name: "genie_query", arguments: { question: "average margin by region" } },
      undefined,
      {
        signal: controller.signal,
      },
    );
    setTimeout(() => controller.abort("stop"), 400);
    await expect(call).rejects.toThrow();
    await client.close();
    const isFinance = (r: Record<string, unknown>) => r.role === "finance";
    const rows = (
      await auditRowsOf(await federationBearer(stack.workspace, "finance"), "genie_query", isFinance)
    ).filter(isFinance);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: "cancelled", error_code: "CANCELLED" });
    expect(Number(rows[0]!.latency_ms)).toBeLessThan(STEP_MS * 7);
  });
});
