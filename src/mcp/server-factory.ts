import { Server, type McpServerFactory } from "@modelcontextprotocol/server";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/server/validators/ajv";
import type { ResolvedCaller } from "../identity/types.js";
import { linkedAbort } from "../linked-abort.js";
import { InFlightCalls } from "./in-flight-calls.js";
import type { DispatcherDeps } from "./tool-dispatcher.js";
import { runGovernedCall } from "./governed-call.js";
import { CAPABILITIES, INSTRUCTIONS, SERVER_INFO } from "./server-description.js";
import { asProtocolRefusal } from "./unknown-tool.js";

export { SERVER_INFO };

// One per process: the SDK otherwise builds a new Ajv for every protocol server, ~99% of its construction cost.
const SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();

export interface McpServerOptions {
  /** Aborts when the client closed the HTTP request the call arrived on. */
  connectionSignal?: AbortSignal;
  /** The process's running calls, so that a `notifications/cancelled` on another stateless request reaches its call. */
  inFlight?: InFlightCalls;
}

/**
 * An MCP protocol server bound to one caller, for either era: the SDK binds it to 2026-07-28 when a modern transport
 * connects it, to 2025-11-25 when it answers `initialize`. Cheap to build (schemas are compiled once in the catalog),
 * so the stateless HTTP transport builds one per request and no state crosses callers.
 */
export function createMcpServer(deps: DispatcherDeps, caller: ResolvedCaller, options: McpServerOptions = {}): Server {
  const { connectionSignal, inFlight } = options;
  const callerKey = InFlightCalls.callerKey(caller.identity);
  // The low-level server: tools are listed and called through the governed dispatcher, not registered one by one.
  const server = new Server(SERVER_INFO, {
    capabilities: CAPABILITIES,
    instructions: INSTRUCTIONS,
    jsonSchemaValidator: SCHEMA_VALIDATOR,
    // The list depends on who asks: no shared cache may keep it, and no client may reuse it for long.
    cacheHints: { "tools/list": { cacheScope: "private", ttlMs: 0 } },
  });
  server.setRequestHandler("tools/list", () => ({ tools: deps.policy.listing(caller.identity) }));
  server.setRequestHandler("tools/call", async (request, ctx) => {
    // A `notifications/cancelled` aborts the same linked signal the call already runs under.
    const stop = linkedAbort([ctx.mcpReq.signal, connectionSignal]);
    try {
      const result = await runGovernedCall(deps, caller, { id: ctx.mcpReq.id, ...request.params }, stop, {
        inFlight: inFlight && { calls: inFlight, callerKey },
        sendNotification: (notification) => ctx.mcpReq.notify(notification),
      });
      return asProtocolRefusal(result);
    } finally {
      stop.dispose();
    }
  });
  if (inFlight) {
    // Replaces the SDK's own handler, which only knows the calls of this (per-request) protocol server.
    server.setNotificationHandler("notifications/cancelled", (notification) => {
      const { requestId, reason } = notification.params;
      if (requestId !== undefined) inFlight.cancel(callerKey, requestId, reason);
    });
  }
  return server;
}

/** The SDK's per-request factory for a caller already resolved at the door: one fresh server per exchange. */
export function serverFactoryFor(
  deps: DispatcherDeps,
  caller: ResolvedCaller,
  options: McpServerOptions = {},
): McpServerFactory {
  return () => createMcpServer(deps, caller, options);
}
