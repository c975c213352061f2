import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { rpc } from "../support/json-rpc.js";
import { federationBearer } from "../support/mcp-clients.js";
import { waitForAudit } from "../support/audit-table.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** One raw JSON-RPC POST, as a stateless client sends it. */
function post(headers: Record<string, string>, message: unknown) {
  return rpc(stack.mcpUrl, message, headers);
}

describe("tools/call requests the protocol layer refuses before any tool runs", () => {
  it("are answered with a JSON-RPC invalid-params error and still leave a denied audit row", async () => {
    const east = await federationBearer(stack.workspace, "east_sales");
    const answers = await Promise.all([
      post(east, {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "query_sales_data", arguments: "WEST" },
      }),
      post(east, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { arguments: {} } }),
      post(east, {
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: { name: "check_identity", arguments: [] },
      }),
      post(east, {
        jsonrpc: "2.0",
        id: 4,
        method: "tools/call",
        params: { name: "genie_query", arguments: {}, _meta: { progressToken: 1.5 } },
      }),
    ]);
    for (const answer of answers.slice(0, 3)) expect(answer.text).toContain("-32602");
    // A progress token that is no integer fails the JSON-RPC envelope itself: refused at the door, still audited.
    expect(answers[3]).toMatchObject({ status: 400, messages: [{ error: { code: -32700 } }] });
    const rows = await waitForAudit(
      stack.workspace,
      (r) => r.filter((row) => row.error_code === "INVALID_ARGUMENT" && row.role === "east_sales").length >= 4,
    );
    const refused = rows.filter((row) => row.error_code === "INVALID_ARGUMENT" && row.role === "east_sales");
    expect(refused.map((r) => r.tool).sort()).toEqual([
      "(malformed tools/call)",
      "check_identity",
      "genie_query",
      "query_sales_data",
    ]);
    expect(refused.every((r) => r.outcome === "denied")).toBe(true);
  });

  it("a refusal at the door names the audit row's request id in the JSON-RPC error data", async () => {
    const answer = await post({ authorization: "Bearer not-a-jwt" }, { jsonrpc: "2.0", id: 3, method: "tools/list" });
    expect(answer.status).toBe(401);
    const body = JSON.parse(answer.text) as { error: { data: { request_id: string; error_code: string } } };
    expect(body.error.data.error_code).toBe("TOKEN_INVALID");
    const rows = await waitForAudit(stack.workspace, (r) =>
      r.some((row) => row.request_id === body.error.data.request_id),
    );
    expect(rows.filter((row) => row.request_id === body.error.data.request_id)).toHaveLength(1);
  });
});
