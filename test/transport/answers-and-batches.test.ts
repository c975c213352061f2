import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { federationBearer } from "../support/mcp-clients.js";
import { rpc } from "../support/json-rpc.js";
import { readAuditTable, waitForAudit } from "../support/audit-table.js";

const BATCH = 20;
let stack: TestStack;
beforeAll(async () => {
  // No interval flush within the test: only a full batch makes the writer send, so what it sends is exact.
  stack = await startTestStack({ overrides: { audit: { flushIntervalMs: 600_000, batchSize: BATCH } } });
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
  it("writes the records of many calls in one batched INSERT, not one statement per call", async () => {
    const serverSp = stack.app.config.identity.m2m.clientId!;
    // The records each audit INSERT carried, in the order the workspace ran them.
    const insertSizes = () =>
      stack.workspace.counters.statements
        .filter((s) => s.principal === serverSp && s.statement.startsWith("INSERT"))
        .map((s) => (JSON.parse((s.parameters as { value: string }[])[0]!.value) as unknown[]).length);
    const before = insertSizes().length;
    const rowsBefore = (await readAuditTable(stack.workspace)).length;
    const admin = await federationBearer(stack.workspace, "executive");
    await Promise.all(Array.from({ length: BATCH }, (_, i) => rpc(stack.mcpUrl, call(100 + i), admin)));
    // Bounded generously: the batch is written once the writer gets to it, however loaded the machine is.
    await waitForAudit(stack.workspace, (rows) => rows.length >= rowsBefore + BATCH, 30_000);
    // One INSERT of a full batch (the earlier test's two records and eighteen of these); its sizes say what happened
    // should the writer ever send more.
    expect(insertSizes().slice(before)).toEqual([BATCH]);
    expect((await readAuditTable(stack.workspace)).length).toBe(rowsBefore + BATCH);
  });
});
