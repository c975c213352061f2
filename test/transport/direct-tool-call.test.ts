import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { Server } from "@modelcontextprotocol/server";
import { startTestStack, type TestStack } from "../support/server.js";
import { federationBearer } from "../support/mcp-clients.js";
import { rpc, type RpcAnswer } from "../support/json-rpc.js";
import { expectEquivalentAuditRows } from "../support/audit-table.js";
import { comparableJson } from "../support/results.js";

// A plain tools/call is answered without a protocol server; the same call with `_meta: {}` goes through the SDK's
// own. The SDK's answer and audit row are the oracle the direct path must match, byte for byte once ids are set aside.

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(async () => {
  await stack?.stop();
});

/** The answer as JSON, with what differs between any two calls (ids, instants read off the clock) set aside. */
const comparable = (answer: RpcAnswer): unknown => comparableJson(answer.text);

const cases: [string, string, number | string, Record<string, unknown>][] = [
  ["check_identity", "executive", 1, { name: "check_identity", arguments: {} }],
  ["check_identity with no arguments member", "west_sales", "call-2", { name: "check_identity" }],
  [
    "a query under a row filter",
    "west_sales",
    3,
    { name: "query_sales_data", arguments: { quarter: "2026-Q1", limit: 5 } },
  ],
  [
    "a query with quotes and accents in its arguments",
    "executive",
    4,
    { name: "query_sales_data", arguments: { account: `O'Brien "é" \\ Ltd`, limit: 3 } },
  ],
  ["an argument the tool refuses", "executive", 5, { name: "query_sales_data", arguments: { limit: "many" } }],
  ["a tool that does not exist", "executive", 6, { name: "no_such_tool", arguments: {} }],
  ["a tool the role may not call", "west_sales", 7, { name: "query_audit_log", arguments: {} }],
];

describe("a plain tools/call over 2025-era HTTP", () => {
  it.each(cases)(
    "is answered without a protocol server exactly as the SDK's answers it: %s",
    async (_c, role, id, params) => {
      const bearer = await federationBearer(stack.workspace, role);
      // Both calls then find what the workspace said about the credential cached, as of the same time.
      await rpc(
        stack.mcpUrl,
        { jsonrpc: "2.0", id: 0, method: "tools/call", params: { name: "check_identity" } },
        bearer,
      );
      const connects = vi.spyOn(Server.prototype, "connect");
      const direct = await rpc(stack.mcpUrl, { jsonrpc: "2.0", id, method: "tools/call", params }, bearer);
      expect(connects).not.toHaveBeenCalled();
      const viaSdk = await rpc(
        stack.mcpUrl,
        { jsonrpc: "2.0", id, method: "tools/call", params: { ...params, _meta: {} } },
        bearer,
      );
      expect(connects).toHaveBeenCalledTimes(1);

      expect(direct.status).toBe(viaSdk.status);
      expect(direct.headers.get("content-type")).toBe(viaSdk.headers.get("content-type"));
      expect(direct.messages).toHaveLength(1);
      expect(direct.messages[0]!.id).toBe(id);
      expect(comparable(direct)).toEqual(comparable(viaSdk));

      await expectEquivalentAuditRows(stack.workspace, direct.messages[0]!, viaSdk.messages[0]!);
    },
  );
});
