import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv-provider.js";
import {
  CallToolRequestSchema,
  CancelledNotificationSchema,
  ListToolsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { ResolvedCaller } from "../identity/types.js";
import { linkedAbort } from "../linked-abort.js";
import { InFlightCalls } from "./in-flight-calls.js";
import { dispatchToolCall, type DispatcherDeps } from "./tool-dispatcher.js";
import { CAPABILITIES, INSTRUCTIONS, SERVER_INFO } from "./server-description.js";
import { metaCarrier, withInboundTrace } from "../observability/trace-context.js";

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
 * An MCP protocol server bound to one caller. Cheap to build (schemas are compiled once in the catalog), so the
 * stateless HTTP transport builds one per request and no state crosses callers.
 */
export function createMcpServer(deps: DispatcherDeps, caller: ResolvedCaller, options: McpServerOptions = {}): Server {
  const { connectionSignal, inFlight } = options;
  const callerKey = InFlightCalls.callerKey(caller.identity);
  const server = new Server(SERVER_INFO, {
    capabilities: CAPABILITIES,
    instructions: INSTRUCTIONS,
    jsonSchemaValidator: SCHEMA_VALIDATOR,
  });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: deps.policy.listing(caller.identity) }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const running = inFlight?.register(callerKey, extra.requestId);
    const stop = linkedAbort([extra.signal, connectionSignal, running?.signal]);
    try {
      // A trace the client names in `_meta` (traceparent) is continued; each call has a context scope of its own.
      return await withInboundTrace(metaCarrier(request.params._meta), () =>
        dispatchToolCall(deps, caller, request.params.name, request.params.arguments, {
          signal: stop.signal,
          progressToken: request.params._meta?.progressToken,
          sendNotification: extra.sendNotification,
        }),
      );
    } finally {
      stop.dispose();
      running?.release();
    }
  });
  if (inFlight) {
    // Replaces the SDK's own handler, which only knows the calls of this (per-request) protocol server.
    server.setNotificationHandler(CancelledNotificationSchema, (notification) => {
      const { requestId, reason } = notification.params;
      if (requestId !== undefined) inFlight.cancel(callerKey, requestId, reason);
    });
  }
  return server;
}
