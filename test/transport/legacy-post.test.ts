import { describe, expect, it } from "vitest";
import { classifyInboundRequest, PROTOCOL_VERSION_META_KEY } from "@modelcontextprotocol/server";
import { plainlyLegacy } from "../../src/transport/legacy-post.js";

const call = { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "query_sales_data", arguments: {} } };
const envelope = { [PROTOCOL_VERSION_META_KEY]: "2026-07-28" };

/** How the HTTP server routes an outcome: a refusal other than "no JSON-RPC at all", the modern entry, or legacy. */
const route = (outcome: ReturnType<typeof classifyInboundRequest>) =>
  outcome.kind === "reject" && outcome.rung !== "jsonrpc-shape"
    ? "refused"
    : outcome.kind === "modern"
      ? "modern"
      : "legacy";

describe("a plainly 2025-era POST", () => {
  it.each([
    ["a call with the 2025-11-25 header", "2025-11-25", call],
    ["a call with no version header", undefined, call],
    ["a call with an older 2025 header", "2025-06-18", call],
    [
      "a call with a progress token",
      "2025-11-25",
      { ...call, params: { ...call.params, _meta: { progressToken: 1 } } },
    ],
    ["a request with no params", "2025-11-25", { jsonrpc: "2.0", id: "a", method: "tools/list" }],
    ["a request that is no valid JSON-RPC", "2025-11-25", { id: { not: "an id" }, method: "tools/call" }],
  ])("is told legacy without the SDK, as the SDK routes it: %s", (_case, version, body) => {
    const plain = plainlyLegacy(version, body);
    expect(plain?.kind).toBe("legacy");
    expect(route(classifyInboundRequest({ httpMethod: "POST", protocolVersionHeader: version, body }))).toBe("legacy");
  });

  it.each([
    ["a modern header", "2026-07-28", call],
    ["a header with spaces around it", " 2025-11-25", call],
    ["an envelope in _meta", undefined, { ...call, params: { ...call.params, _meta: envelope } }],
    ["an initialize", "2025-11-25", { jsonrpc: "2.0", id: 1, method: "initialize", params: {} }],
    ["a batch", "2025-11-25", [call]],
    ["a notification", "2025-11-25", { jsonrpc: "2.0", method: "notifications/initialized" }],
    ["a response", "2025-11-25", { jsonrpc: "2.0", id: 1, result: {} }],
  ])("is left to the SDK when it has %s", (_case, version, body) => {
    expect(plainlyLegacy(version, body)).toBeUndefined();
  });
});
