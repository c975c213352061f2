import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { rpc, toolAnswer, toolCall, waitForAuditRows, type AuditRow } from "../security/support.js";
import type { RpcAnswer } from "../support/json-rpc.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ overrides: { quota: { caller: { requestsPerMinute: 3, concurrentCalls: 0 } } } });
});
afterAll(async () => {
  await stack?.stop();
});

async function bearer(sub: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await stack.workspace.idp.mintToken({ sub, role: "west_sales" })}` };
}

/** The tool results of an answer, in the order of the batch's ids. */
function results(answer: RpcAnswer) {
  return [...answer.messages]
    .sort((a, b) => Number(a.id) - Number(b.id))
    .map((m) => toolAnswer({ ...answer, messages: [m] }));
}

describe("quotas over HTTP (60 s windows, every call made well inside one)", () => {
  it("a call past the caller's limit is a RATE_LIMITED tool error with retry_after_s, audited as denied with the limit", async () => {
    const headers = await bearer("quota-flood");
    const batch = Array.from({ length: 5 }, () => toolCall("check_identity", {}));
    const answer = await rpc(stack.mcpUrl, batch, headers);
    expect(answer.status).toBe(200);
    const out = results(answer);
    expect(out.filter((r) => !r.isError)).toHaveLength(3);
    const refused = out.filter((r) => r.isError);
    expect(refused).toHaveLength(2);
    for (const r of refused) {
      expect(r.code).toBe("RATE_LIMITED");
      expect(r.retryAfterS).toBeGreaterThanOrEqual(1);
      expect(r.retryAfterS).toBeLessThanOrEqual(60);
      expect(r.text).toMatch(/caller_rate quota \(3 per minute\)/);
    }
    const ids = new Set(refused.map((r) => r.requestId));
    const mine = (all: AuditRow[]) => all.filter((row) => ids.has(row.request_id ?? ""));
    const rows = mine(await waitForAuditRows(stack.workspace, (all) => mine(all).length === 2));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatchObject({ outcome: "denied", error_code: "RATE_LIMITED", tool: "check_identity" });
      expect(JSON.parse(row.arguments!)).toMatchObject({ $quota: "caller_rate: 3 per minute" });
    }
  });

  it("a caller whose limit is spent is refused at the door: 429 with Retry-After, before any tool runs", async () => {
    const headers = await bearer("quota-flood");
    const answer = await rpc(stack.mcpUrl, toolCall("check_identity", {}), headers);
    expect(answer.status).toBe(429);
    const retryAfter = Number(answer.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const refusal = toolAnswer(answer);
    expect(refusal.code).toBe("RATE_LIMITED");
    const [message] = answer.messages as { error?: { data?: { request_id?: string } } }[];
    const requestId = message?.error?.data?.request_id;
    expect(requestId).toBeTypeOf("string");
    const mine = (all: AuditRow[]) => all.filter((row) => row.request_id === requestId);
    const [row] = mine(await waitForAuditRows(stack.workspace, (all) => mine(all).length === 1));
    expect(row).toMatchObject({ outcome: "denied", error_code: "RATE_LIMITED", tool: "check_identity" });
    expect(JSON.parse(row!.arguments!)).toMatchObject({ $quota: "caller_rate: 3 per minute" });
    // tools/list is not a tool call: the door lets it through.
    const list = await rpc(stack.mcpUrl, { jsonrpc: "2.0", id: 99, method: "tools/list" }, headers);
    expect(list.status).toBe(200);
  });

  it("a bystander keeps its own full limit while another caller is refused", async () => {
    const headers = await bearer("quota-bystander");
    for (let i = 0; i < 3; i += 1)
      expect(toolAnswer(await rpc(stack.mcpUrl, toolCall("check_identity", {}), headers)).isError).toBe(false);
  });

  it("counts refusals per limit in /metrics", async () => {
    const text = await (await fetch(`${stack.app.http!.url}/metrics`)).text();
    expect(text).toMatch(/^mcp_quota_refusals_total\{limit="caller_rate"\} 3$/m);
    expect(text).toMatch(/^mcp_quota_store_local 0$/m);
  });
});
