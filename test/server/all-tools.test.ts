import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp, federationBearer } from "../support/mcp-clients.js";
import { rowsAsObjects, textOf } from "../support/results.js";
import { requestIdOf, waitForAudit } from "../support/audit-table.js";
import { FakeClock } from "../support/fake-clock.js";

const GENIE_STEP_MS = 30;
/** Genie messages here advance only when this clock moves, so what a poll sees never depends on the machine's load. */
const genieClock = new FakeClock();
let stack: TestStack;
let admin: Client;
let west: Client;
beforeAll(async () => {
  stack = await startTestStack({ genieStepDelayMs: GENIE_STEP_MS, genieClock });
  admin = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "admin"));
  west = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "west_sales"));
});
afterAll(async () => {
  await admin?.close();
  await west?.close();
  await stack?.stop();
});

describe("each governed tool against the local workspace", () => {
  // Each progress notification means the tool has polled and seen a status: then every step of the message passes.
  const onprogress = (progress: string[]) => (p: { message?: string }) => {
    progress.push(String(p.message));
    void genieClock.advance(GENIE_STEP_MS * 7);
  };

  it("genie_query answers with SQL and rows, as the caller, with at least two progress notifications", async () => {
    const progress: string[] = [];
    const result = await west.callTool(
      { name: "genie_query", arguments: { question: "What is the total amount by region?" } },
      undefined,
      { onprogress: onprogress(progress) },
    );
    expect(result.isError).toBeFalsy();
    const s = result.structuredContent as { sql: string; rows: string[][]; conversation_id: string };
    expect(s.sql).toMatch(/SUM\(amount\)/);
    expect(s.rows.map((r) => r[0])).toEqual(["WEST"]);
    expect(progress[0]).toBe("Genie: SUBMITTED");
    expect(progress.length).toBeGreaterThanOrEqual(2);
    const followUp = await west.callTool(
      { name: "genie_query", arguments: { question: "how many deals", conversation_id: s.conversation_id } },
      undefined,
      { onprogress: onprogress([]) },
    );
    expect(followUp.isError).toBeFalsy();
  });

  it("query_knowledge_base returns the discount policy first for a discount question", async () => {
    const result = await west.callTool({
      name: "query_knowledge_base",
      arguments: { query: "who approves a discount above 25 percent", num_results: 3 },
    });
    expect(result.isError).toBeFalsy();
    const { passages } = result.structuredContent as { passages: { doc_id: string; score: number }[] };
    expect(passages[0]!.doc_id).toBe("kb-001");
    expect(passages.every((p) => p.score > 0)).toBe(true);
  });

  it("ask_supervisor answers a data question as the caller and a policy question from the knowledge base", async () => {
    const data = await admin.callTool({ name: "ask_supervisor", arguments: { question: "total amount by region" } });
    expect(data.isError).toBeFalsy();
    expect(textOf(data)).toMatch(/WEST/);
    const policy = await admin.callTool({
      name: "ask_supervisor",
      arguments: { question: "What is the quarter close process?" },
    });
    const { sources } = policy.structuredContent as { sources: { ref: string }[] };
    expect(sources.map((s) => s.ref)).toContain("kb-007");
  });

  it("query_audit_log shows the calls made so far, read with the caller's own credential", async () => {
    const id = requestIdOf(await admin.callTool({ name: "check_identity", arguments: {} }));
    // The writer batches: wait (bounded) until the row has landed before reading it through the tool.
    await waitForAudit(stack.workspace, (r) => r.some((x) => x.request_id === id), 30_000);
    const result = await admin.callTool({ name: "query_audit_log", arguments: { tool: "check_identity", limit: 10 } });
    expect(result.isError).toBeFalsy();
    const rows = rowsAsObjects(result.structuredContent);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]!.outcome).toBe("allowed");
    expect(rows[0]!.mode).toBe("federation");
  });

  it("query_sales_data groups with metrics and says when rows were truncated", async () => {
    const result = await admin.callTool({
      name: "query_sales_data",
      arguments: { group_by: "product", metrics: ["deal_count"], limit: 2 },
    });
    expect(result.isError).toBeFalsy();
    const s = result.structuredContent as { columns: string[]; truncated: boolean; row_count: number };
    expect(s.columns).toEqual(["product", "deal_count"]);
    expect(s.row_count).toBe(2);
    expect(s.truncated).toBe(true);
  });

  it("refuses a wrong argument type with a clear error, audited", async () => {
    const result = await admin.callTool({ name: "query_sales_data", arguments: { limit: "lots" } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^\[INVALID_ARGUMENT\] Invalid argument limit: /);
    const id = requestIdOf(result);
    const rows = await waitForAudit(stack.workspace, (r) => r.some((x) => x.request_id === id));
    expect(rows.filter((r) => r.request_id === id)).toMatchObject([
      { tool: "query_sales_data", outcome: "failed", error_code: "INVALID_ARGUMENT", statement_ids: "[]" },
    ]);
  });

  it("refuses an argument the schema does not declare (no hidden knobs)", async () => {
    const result = await admin.callTool({ name: "query_sales_data", arguments: { limit: 1, table: "main.x.y" } });
    expect(result._meta?.error_code).toBe("INVALID_ARGUMENT");
  });
});
