import { ProtocolErrorCode, type CallToolResult, type JSONRPCMessage } from "@modelcontextprotocol/server";
import { GovernedError } from "../errors.js";
import type { ResolvedCaller } from "../identity/types.js";
import type { AbortableCall } from "./in-flight-calls.js";
import { plainlyWellFormed } from "./malformed-calls.js";
import { runGovernedCall, type CallerCalls, type ToolCallRequest } from "./governed-call.js";
import type { DispatcherDeps } from "./tool-dispatcher.js";
import { unknownToolError } from "./unknown-tool.js";

const noProgress = async () => undefined;

/**
 * The usual 2025-era POST, told without a protocol server: one `tools/call` request (not a notification, no batch),
 * well-formed as the SDK's schema reads it, with no `_meta` (so no progress to stream, no trace to continue and no
 * envelope). Undefined for anything else, which a protocol server of its own serves.
 */
export function plainToolCall(messages: readonly JSONRPCMessage[]): ToolCallRequest | undefined {
  if (messages.length !== 1) return undefined;
  const message = messages[0] as Record<string, unknown>;
  if (message.method !== "tools/call" || !("id" in message)) return undefined;
  const { id, params } = message;
  if (typeof id !== "string" && typeof id !== "number") return undefined;
  if (!plainlyWellFormed(params) || params._meta !== undefined) return undefined;
  return { id, name: params.name, arguments: params.arguments };
}

/**
 * Answers a plain `tools/call` as the SDK's protocol server answers it in the 2025 era — the same dispatcher, audit
 * record, cancellation and JSON-RPC answer (`test/transport/direct-tool-call.test.ts` holds the two side by side) —
 * without building one per request: its construction, context and the schema passes over the request and over the
 * result this server built were about a fifth of the server's CPU per query call, a third per cached `check_identity`
 * (docs/benchmarks.md).
 */
export async function answerPlainToolCall(
  deps: DispatcherDeps,
  caller: ResolvedCaller,
  request: ToolCallRequest,
  running: AbortableCall,
  inFlight: CallerCalls,
): Promise<JSONRPCMessage> {
  let result: CallToolResult;
  try {
    result = await runGovernedCall(deps, caller, request, running, { inFlight, sendNotification: noProgress });
  } catch (err) {
    // The audit trail withheld the answer (its record could not be kept): as a protocol server answers a handler that
    // throws, an internal error for this request; the message only when it is one of ours, never a system error's.
    const message = err instanceof GovernedError ? err.message : "Internal error";
    return { jsonrpc: "2.0", id: request.id, error: { code: ProtocolErrorCode.InternalError, message } };
  }
  const error = unknownToolError(result);
  if (error) return { jsonrpc: "2.0", id: request.id, error };
  return { result, jsonrpc: "2.0", id: request.id } as JSONRPCMessage;
}
