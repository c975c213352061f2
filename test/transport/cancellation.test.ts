import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { rpc } from "../support/json-rpc.js";
import { connectHttp, federationBearer } from "../support/mcp-clients.js";
import { rowsAsObjects } from "../support/results.js";
import { FakeClock } from "../support/fake-clock.js";
import { connectHttpEra } from "../support/era-clients.js";

const STEP_MS = 1500;
/** Genie messages advance only when this clock moves: a call nobody cancels never ends on its own. */
const genieClock = new FakeClock();

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ genieStepDelayMs: STEP_MS, genieClock });
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
    // The writer batches: poll, bounded generously, until the row has landed.
    for (const end = Date.now() + 30_000; Date.now() < end;) {
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

/** Resolves once the local workspace holds the Genie message `call` asked for: the call is running on the server. */
async function genieMessageCreated(call: Promise<unknown>): Promise<void> {
  const ended = call.then(() => {
    throw new Error("the call ended before Genie received its question");
  });
  await Promise.race([genieClock.untilWaiting(genieClock.waiting + 1), ended]);
}

describe("cancellation over stateless streamable HTTP", () => {
  it("a notifications/cancelled on a new request stops the caller's running Genie call, which is audited as cancelled", async () => {
    const admin = await federationBearer(stack.workspace, "admin");
    const call = post(admin, {
      jsonrpc: "2.0",
      id: "genie-1",
      method: "tools/call",
      params: { name: "genie_query", arguments: { question: "total amount by region" } },
    });
    await genieMessageCreated(call);
    const cancel = await post(admin, {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: "genie-1", reason: "user pressed stop" },
    });
    expect(cancel.status).toBe(202);
    // The message's clock never moved, so only the cancellation can have ended the call.
    const answer = await call;
    expect(answer.text).toContain("CANCELLED");
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
    await genieMessageCreated(call);
    expect(
      (await post(west, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 7 } })).status,
    ).toBe(202);
    await genieClock.advance(STEP_MS * 7);
    const answer = await call;
    expect(answer.text).not.toContain("CANCELLED");
    expect(answer.text).toContain('"status":"COMPLETED"');
  }, 30_000);

  it("a raw client that closes its request before the answer gets its Genie polling stopped, audited once", async () => {
    const headers = await federationBearer(stack.workspace, "west_sales");
    const gone = new AbortController();
    const call = rpc(
      stack.mcpUrl,
      {
        jsonrpc: "2.0",
        id: "gone-1",
        method: "tools/call",
        params: { name: "genie_query", arguments: { question: "total amount by region" } },
      },
      headers,
      gone.signal,
    );
    await genieMessageCreated(call.catch(() => undefined));
    gone.abort("stop");
    await expect(call).rejects.toThrow();
    const isWest = (r: Record<string, unknown>) => r.role === "west_sales";
    const auditor = await federationBearer(stack.workspace, "admin");
    const rows = (await auditRowsOf(auditor, "genie_query", isWest)).filter(isWest);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: "cancelled", error_code: "CANCELLED" });
  });

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
    await genieMessageCreated(call.catch(() => undefined));
    controller.abort("stop");
    await expect(call).rejects.toThrow();
    await client.close();
    const isFinance = (r: Record<string, unknown>) => r.role === "finance";
    const rows = (
      await auditRowsOf(await federationBearer(stack.workspace, "finance"), "genie_query", isFinance)
    ).filter(isFinance);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: "cancelled", error_code: "CANCELLED" });
  });

  it("a 2026-07-28 client that aborts a call closes its request stream, which stops the Genie polling", async () => {
    const client = await connectHttpEra("modern", stack.mcpUrl, await federationBearer(stack.workspace, "managers"));
    expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
    const controller = new AbortController();
    const call = client.callTool(
      { name: "genie_query", arguments: { question: "average margin by region" } },
      { signal: controller.signal },
    );
    await genieMessageCreated(call.catch(() => undefined));
    controller.abort("stop");
    await expect(call).rejects.toThrow();
    await client.close();
    const isManagers = (r: Record<string, unknown>) => r.role === "managers";
    const rows = (
      await auditRowsOf(await federationBearer(stack.workspace, "admin"), "genie_query", isManagers)
    ).filter(isManagers);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: "cancelled", error_code: "CANCELLED" });
  });
});
