import { afterEach, describe, expect, it, vi } from "vitest";
import { JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";
import { checkEnvelope } from "../../src/transport/stdio-envelope.js";

const call = {
  jsonrpc: "2.0",
  id: 7,
  method: "tools/call",
  params: { name: "query_sales_data", arguments: { account: "Globex", limit: 100 } },
};

/** Lines a client may send, each parsed as the transport parses it: valid and invalid, common and rare shapes. */
const CORPUS: unknown[] = [
  call,
  { ...call, id: "abc" },
  { ...call, id: 0 },
  { ...call, id: -3 },
  { ...call, id: 1.5 },
  { ...call, id: 2 ** 53 },
  { ...call, id: Number.MAX_SAFE_INTEGER },
  { ...call, id: null },
  { ...call, id: true },
  { ...call, id: [1] },
  { ...call, jsonrpc: "1.0" },
  { ...call, jsonrpc: 2 },
  { ...call, method: 5 },
  { ...call, method: "" },
  { ...call, extra: 1 },
  { ...call, params: [] },
  { ...call, params: null },
  { ...call, params: "x" },
  { ...call, params: {} },
  { ...call, params: { _meta: { progressToken: 3 } } },
  { ...call, params: { _meta: { progressToken: { no: 1 } } } },
  { ...call, params: { _meta: "no" } },
  JSON.parse('{"jsonrpc":"2.0","id":1,"method":"m","params":{"__proto__":{"polluted":true}}}'),
  JSON.parse('{"jsonrpc":"2.0","id":1,"method":"m","__proto__":{}}'),
  { jsonrpc: "2.0", id: 1, method: "ping" },
  { jsonrpc: "2.0", method: "notifications/initialized" },
  { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 7, reason: "user" } },
  { jsonrpc: "2.0", method: "notifications/initialized", extra: true },
  { jsonrpc: "2.0", id: 1, result: {} },
  { jsonrpc: "2.0", id: 1, result: { action: "accept", content: { a: 1 } } },
  { jsonrpc: "2.0", id: 1, error: { code: -32601, message: "no" } },
  { jsonrpc: "2.0", id: 1, error: { code: "x", message: "no" } },
  { jsonrpc: "2.0" },
  {},
  [],
  [call],
  null,
  "text",
  42,
];

describe("checkEnvelope (the JSON-RPC check of each stdin line)", () => {
  afterEach(() => vi.restoreAllMocks());

  it.each(CORPUS.map((value) => [JSON.stringify(value), value]))(
    "gives the SDK schema's verdict and message for %s",
    (_, value) => {
      const schema = JSONRPCMessageSchema.safeParse(value);
      const checked = checkEnvelope(value);
      expect(checked.ok).toBe(schema.success);
      if (checked.ok && schema.success) expect(checked.message).toEqual(schema.data);
    },
  );

  it("accepts a tools/call request and a notification without the schema's parse", () => {
    const parse = vi.spyOn(JSONRPCMessageSchema, "safeParse");
    expect(checkEnvelope(call).ok).toBe(true);
    expect(checkEnvelope({ jsonrpc: "2.0", method: "notifications/initialized" }).ok).toBe(true);
    expect(parse).not.toHaveBeenCalled();
  });

  it("leaves responses, _meta and malformed lines to the schema", () => {
    const parse = vi.spyOn(JSONRPCMessageSchema, "safeParse");
    checkEnvelope({ jsonrpc: "2.0", id: 1, result: {} });
    checkEnvelope({ ...call, params: { _meta: { progressToken: 3 } } });
    const refused = checkEnvelope({ ...call, extra: 1 });
    expect(parse).toHaveBeenCalledTimes(3);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error).toBeInstanceOf(Error);
  });
});
