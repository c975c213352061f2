import { describe, expect, it } from "vitest";
import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import { plainToolCall } from "../../src/mcp/plain-tool-call.js";

const call = (params: Record<string, unknown>, id: unknown = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params,
});

describe("the plain tools/call answered without a protocol server", () => {
  it.each([
    ["a call with arguments", call({ name: "query_sales_data", arguments: { limit: 5 } }), 1],
    ["a call with no arguments member", call({ name: "check_identity" }), 1],
    ["a call with a string id", call({ name: "check_identity", arguments: {} }, "a-1"), "a-1"],
  ])("is told as such: %s", (_case, message, id) => {
    const plain = plainToolCall([message as JSONRPCMessage]);
    expect(plain).toEqual({ id, name: message.params.name, arguments: message.params.arguments });
  });

  it.each([
    ["a batch of one call and another", [call({ name: "check_identity" }), call({ name: "check_identity" }, 2)]],
    ["an empty _meta", [call({ name: "check_identity", _meta: {} })]],
    ["a progress token", [call({ name: "check_identity", _meta: { progressToken: 1 } })]],
    ["a task", [call({ name: "check_identity", task: { ttl: 5 } })]],
    ["arguments that are no object", [call({ name: "check_identity", arguments: [1] })]],
    ["a name that is no string", [call({ name: 7 })]],
    ["no params", [{ jsonrpc: "2.0", id: 1, method: "tools/call" }]],
    ["a notification", [{ jsonrpc: "2.0", method: "tools/call", params: { name: "check_identity" } }]],
    ["another method", [{ jsonrpc: "2.0", id: 1, method: "tools/list" }]],
  ])("is not, and a protocol server serves it: %s", (_case, messages) => {
    expect(plainToolCall(messages as JSONRPCMessage[])).toBeUndefined();
  });
});
