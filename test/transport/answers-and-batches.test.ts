import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { federationBearer } from "../support/mcp-clients.js";
import { rpc } from "../support/json-rpc.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ overrides: { audit: { flushIntervalMs: 400, batchSize: 100 } } });
});
afterAll(async () => {
  await stack?.stop();
});

const call = (id: number, meta?: Record<string, unknown>) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "check_identity", arguments: {}, ...(meta ? { _meta: meta } : {}) },
});

describe("answers over streamable HTTP", () => {
  it("are plain JSON unless the request asks for progress, which needs an event stream", async () => {
    const admin = await federationBearer(stack.workspace, "admin");
    const plain = await rpc(stack.mcpUrl, call(1), admin);
    expect(plain.headers.get("content-type")).toContain("application/json");
    expect(plain.messages[0]).toMatchObject({ id: 1, result: { structuredContent: { role: "admin" } } });
    const streamed = await rpc(stack.mcpUrl, call(2, { progressToken: "p-2" }), admin);
    expect(streamed.headers.get("content-type")).toContain("text/event-stream");
    expect(streamed.messages.find((m) => m.id === 2)).toMatchObject({
      result: { structuredContent: { role: "admin" } },
    });
  });
});

describe("the audit writer", () => {
  it("writes the records of many calls in a few batched INSERTs, not one statement per call", async () => {
    const serverSp = stack.app.config.identity.m2m.clientId!;
    const auditInserts = () =>
      stack.workspace.counters.statements.filter((s) => s.principal === serverSp && s.statement.startsWith("INSERT"))
        .length;
    // Let earlier records drain, then make 20 calls within one flush interval.
    await new Promise((r) => setTimeout(r, 900));
    const before = auditInserts();
    const admin = await federationBearer(stack.workspace, "executive");
    await Promise.all(Array.from({ length: 20 }, (_, i) => rpc(stack.mcpUrl, call(100 + i), admin)));
    await new Promise((r) => setTimeout(r, 1200));
    const inserts = auditInserts() - before;
    expect(inserts).toBeGreaterThanOrEqual(1);
    expect(inserts).toBeLessThanOrEqual(4);
  });
});
