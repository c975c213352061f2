import type { CallToolResult, RequestId, ServerNotification } from "@modelcontextprotocol/server";
import type { ResolvedCaller } from "../identity/types.js";
import { abortSourceOf } from "../linked-abort.js";
import { metaCarrier, withInboundTrace } from "../observability/trace-context.js";
import type { AbortableCall, InFlightCalls } from "./in-flight-calls.js";
import { dispatchToolCall, type DispatcherDeps } from "./tool-dispatcher.js";

/** A `tools/call` request's parts, as a protocol server or the direct path hands them over. */
export interface ToolCallRequest {
  id: RequestId;
  name: string;
  arguments?: unknown;
  _meta?: { progressToken?: string | number; [key: string]: unknown };
}

/** The running calls a `notifications/cancelled` reaches, and the key of the caller whose calls these are. */
export interface CallerCalls {
  calls: InFlightCalls;
  callerKey: string;
}

export interface GovernedCallOptions {
  /** The process's running calls, so that a `notifications/cancelled` on another request reaches this one. */
  inFlight?: CallerCalls;
  /** Sends a progress notification; only a call with a progress token sends any. */
  sendNotification(notification: ServerNotification): Promise<void>;
}

/**
 * Runs one `tools/call` through the governed dispatcher under `running`, which a client's `notifications/cancelled`
 * for the same caller and id aborts; a trace the client names in `_meta` (traceparent) is continued.
 */
export async function runGovernedCall(
  deps: DispatcherDeps,
  caller: ResolvedCaller,
  request: ToolCallRequest,
  running: AbortableCall,
  options: GovernedCallOptions,
): Promise<CallToolResult> {
  const registration = options.inFlight?.calls.register(options.inFlight.callerKey, request.id, running);
  try {
    return await withInboundTrace(metaCarrier(request._meta), () =>
      dispatchToolCall(deps, caller, request.name, request.arguments, {
        signal: abortSourceOf(running),
        progressToken: request._meta?.progressToken,
        sendNotification: options.sendNotification,
      }),
    );
  } finally {
    registration?.release();
  }
}
