import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { federationBearer } from "../support/mcp-clients.js";
import { rpc } from "../support/json-rpc.js";
import { waitForAudit } from "../support/audit-table.js";

let stack: TestStack;
let admin: Record<string, string>;
beforeAll(async () => {
  stack = await startTestStack({ genieStepDelayMs: 40 });
  admin = await federationBearer(stack.workspace, "admin");
});
afterAll(async () => {
  await stack?.stop();
});

const list = (id: number | string) => ({ jsonrpc: "2.0", id, method: "tools/list", params: {} });
const identity = (id: number | string) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "check_identity", arguments: {} },
});

describe("a POST's headers and body, checked as streamable HTTP asks", () => {
  it("refuses a client that does not accept both JSON and an event stream with 406, audited", async () => {
    const answer = await rpc(stack.mcpUrl, identity(1), { ...admin, accept: "application/json" });
    expect(answer.status).toBe(406);
    expect(answer.messages[0]).toMatchObject({ error: { code: -32000, data: { error_code: "INVALID_ARGUMENT" } } });
    const requestId = (answer.messages[0] as { error: { data: { request_id: string } } }).error.data.request_id;
    const rows = await waitForAudit(stack.workspace, (r) => r.some((row) => row.request_id === requestId));
    expect(rows.find((row) => row.request_id === requestId)).toMatchObject({
      tool: "check_identity",
      outcome: "denied",
      error_code: "INVALID_ARGUMENT",
    });
  });

  it("refuses a body that is not declared as JSON with 415", async () => {
    const answer = await rpc(stack.mcpUrl, list(1), { ...admin, "content-type": "text/plain" });
    expect(answer.status).toBe(415);
    expect(answer.text).toContain("Content-Type must be application/json");
  });

  it("accepts a JSON content type with parameters", async () => {
    const answer = await rpc(stack.mcpUrl, list(1), { ...admin, "content-type": "application/json; charset=utf-8" });
    expect(answer.status).toBe(200);
    expect(answer.messages[0]).toMatchObject({ id: 1, result: { tools: expect.any(Array) } });
  });

  it.each([
    ["a JSON value that is no JSON-RPC message", { hello: "world" }, 400, -32700],
    ["an empty batch", [], 400, -32600],
    ["a batch of 101 messages", Array.from({ length: 101 }, (_, i) => list(i)), 400, -32600],
    ["a batch repeating a request id", [list(7), identity(7)], 400, -32600],
    [
      "an initialize batched with another request",
      [
        {
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: LATEST_PROTOCOL_VERSION,
            capabilities: {},
            clientInfo: { name: "t", version: "1" },
          },
        },
        list(2),
      ],
      400,
      -32600,
    ],
  ])("refuses %s", async (_name, body, status, code) => {
    const answer = await rpc(stack.mcpUrl, body, admin);
    expect(answer.status).toBe(status);
    expect(answer.messages[0]).toMatchObject({ jsonrpc: "2.0", id: null, error: { code } });
  });
});

describe("answers", () => {
  it("answers a POST of notifications only with 202 and no body", async () => {
    const answer = await rpc(stack.mcpUrl, { jsonrpc: "2.0", method: "notifications/initialized" }, admin);
    expect(answer.status).toBe(202);
    expect(answer.text).toBe("");
  });

  it("answers a batch in the order of its requests, whatever order they finish in", async () => {
    const answer = await rpc(stack.mcpUrl, [identity("slow"), { jsonrpc: "2.0", method: "x/y" }, list("fast")], admin);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toBe("application/json");
    expect(answer.messages.map((m) => m.id)).toEqual(["slow", "fast"]);
    expect(answer.messages[0]).toMatchObject({ result: { structuredContent: { role: "admin" } } });
  });

  it("streams progress notifications before the answer when the call carries a progress token", async () => {
    const answer = await rpc(
      stack.mcpUrl,
      {
        jsonrpc: "2.0",
        id: "g",
        method: "tools/call",
        params: { name: "genie_query", arguments: { question: "how many deals" }, _meta: { progressToken: "p" } },
      },
      admin,
    );
    expect(answer.headers.get("content-type")).toBe("text/event-stream");
    const methods = answer.messages.map((m) => m.method ?? `answer ${String(m.id)}`);
    expect(methods.filter((m) => m === "notifications/progress").length).toBeGreaterThan(0);
    expect(methods.at(-1)).toBe("answer g");
    expect(methods.indexOf("answer g")).toBe(methods.length - 1);
    expect(answer.text).toMatch(/^event: message\ndata: /);
  });
});
