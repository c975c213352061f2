import pino from "pino";
import { describe, expect, it } from "vitest";
import { InMemoryTransport, type JSONRPCMessage } from "@modelcontextprotocol/server";
import { loadConfig } from "../../src/config/load.js";
import { ErrorCodes, GovernedError } from "../../src/errors.js";
import type { ResolvedCaller } from "../../src/identity/types.js";
import { WorkspaceViewCache } from "../../src/identity/workspace-view-cache.js";
import { InFlightCalls } from "../../src/mcp/in-flight-calls.js";
import { answerPlainToolCall, plainToolCall } from "../../src/mcp/plain-tool-call.js";
import { createMcpServer } from "../../src/mcp/server-factory.js";
import { buildToolCatalog } from "../../src/mcp/tool-catalog.js";
import type { DispatcherDeps } from "../../src/mcp/tool-dispatcher.js";
import { ConversationHandles } from "../../src/policy/conversation-handle.js";
import { ToolPolicy } from "../../src/policy/tool-policy.js";
import { loadToolCatalog } from "../../tools/catalog/load.js";
import type { ToolDefinition } from "../../tools/types.js";

/** A configuration naming a workspace no test here reaches. */
const LOCAL_ENV = {
  DATABRICKS_HOST: "http://127.0.0.1:9",
  DATABRICKS_WAREHOUSE_ID: "w",
  MCP_IDP_ISSUER: "http://127.0.0.1:9/idp",
  MCP_IDP_AUDIENCE: "mcp",
};

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

describe("a plain tools/call whose audit record cannot be kept", () => {
  const USER = "wendy.west@example.com";
  const caller: ResolvedCaller = {
    identity: { mode: "obo", source: "bearer", human: USER, expectedPrincipal: USER, scopes: ["all-apis"] },
    credential: { token: async () => ({ accessToken: "unused", expiresAt: Date.now() / 1000 + 3600, scopes: [] }) },
  };

  /** A dispatcher whose one tool answers at once and whose audit trail refuses every record with `failure`. */
  function dispatcherFailingWith(failure: Error): DispatcherDeps {
    const config = loadConfig(LOCAL_ENV);
    const genie = loadToolCatalog(config).tools.find((t) => t.name === "genie_query")!;
    const instant: ToolDefinition = { ...genie, handler: async () => ({ text: "ok", structured: {} }) };
    return {
      config,
      policy: new ToolPolicy(buildToolCatalog([instant]), config),
      audit: { record: async () => Promise.reject(failure) },
      logger: pino({ level: "silent" }),
      workspaceFor: () => {
        throw new Error("no workspace in this test");
      },
      workspaceViews: new WorkspaceViewCache(1, 0),
      conversationHandles: ConversationHandles.ephemeral(),
    };
  }

  /** The protocol server's answer to the same request, over an in-memory transport. */
  async function protocolServerAnswer(deps: DispatcherDeps, request: JSONRPCMessage): Promise<JSONRPCMessage> {
    const [client, server] = InMemoryTransport.createLinkedPair();
    const answered = new Promise<JSONRPCMessage>((resolve) => (client.onmessage = resolve));
    await createMcpServer(deps, caller).connect(server);
    await client.start();
    await client.send(request);
    return answered;
  }

  const call = {
    jsonrpc: "2.0",
    id: 3,
    method: "tools/call",
    params: { name: "genie_query", arguments: { question: "anything" } },
  } as JSONRPCMessage;
  const directAnswer = (deps: DispatcherDeps) =>
    answerPlainToolCall(deps, caller, plainToolCall([call])!, new AbortController(), {
      calls: new InFlightCalls(),
      callerKey: InFlightCalls.callerKey(caller.identity),
    });

  it("is answered, as the protocol server answers it, with an internal error naming the withheld answer", async () => {
    const deps = dispatcherFailingWith(new GovernedError(ErrorCodes.AUDIT_UNAVAILABLE, "The answer is withheld."));
    const direct = await directAnswer(deps);
    expect(direct).toEqual({ jsonrpc: "2.0", id: 3, error: { code: -32603, message: "The answer is withheld." } });
    expect(direct).toEqual(await protocolServerAnswer(deps, call));
  });

  it("says nothing of a system error's text, where the protocol server would repeat it", async () => {
    const deps = dispatcherFailingWith(new Error("EIO: i/o error, write '/var/spool/secret-path'"));
    expect(await directAnswer(deps)).toEqual({
      jsonrpc: "2.0",
      id: 3,
      error: { code: -32603, message: "Internal error" },
    });
    expect(JSON.stringify(await protocolServerAnswer(deps, call))).toContain("secret-path");
  });
});
