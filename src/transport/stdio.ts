import type { JSONRPCMessage, RequestId, Server, Transport } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import type { ResolvedCaller } from "../identity/types.js";
import { createMcpServer } from "../mcp/server-factory.js";
import { gateTransport } from "../mcp/malformed-calls.js";
import { InFlightCalls } from "../mcp/in-flight-calls.js";
import { answerPlainToolCall, plainToolCall } from "../mcp/plain-tool-call.js";
import type { DispatcherDeps } from "../mcp/tool-dispatcher.js";
import { linkedAbort } from "../linked-abort.js";
import { StdioTransport } from "./stdio-transport.js";
import type { EarlyStdioTransport } from "./early-stdio.js";
import { isLegacyVersion } from "./legacy-post.js";

/**
 * stdio: one local user, resolved once at start. The SDK's entry picks the era from the client's opening message
 * (`server/discover` for 2026-07-28, `initialize` for 2025-11-25) and pins one protocol server for the connection.
 */
export async function startStdioServer(
  deps: DispatcherDeps,
  caller: ResolvedCaller,
  early?: EarlyStdioTransport,
): Promise<{ close(): Promise<void> }> {
  const transport = early ?? new StdioTransport();
  const inFlight = new InFlightCalls();
  let pinned: Server | undefined;
  const handle = serveStdio(() => (pinned = createMcpServer(deps, caller)), { transport });
  // After the entry took the transport's messages: a malformed tools/call is refused and audited before it routes.
  gateTransport(transport, deps.audit, caller);
  // Once the connection is a 2025-era one (initialized), a plain tools/call is answered as on HTTP, without the
  // protocol server's per-request work.
  answerPlainCalls(transport, deps, caller, inFlight, () => isLegacyVersion(pinned?.getNegotiatedProtocolVersion()));
  if (early) {
    early.onMismatch = () => deps.logger.warn("the early initialize answer differs from the protocol server's");
    // Messages held while the server started flow now, through the gate, in arrival order.
    early.release();
  }
  return handle;
}

/**
 * Answers each plain `tools/call` of an initialized 2025-era connection through the governed dispatcher; everything
 * else goes on to the protocol server. A `notifications/cancelled` reaches both: a direct call it names is aborted and,
 * as the protocol server does with its own, not answered.
 */
function answerPlainCalls(
  transport: Transport,
  deps: DispatcherDeps,
  caller: ResolvedCaller,
  inFlight: InFlightCalls,
  legacyEra: () => boolean,
): void {
  const deliver = transport.onmessage;
  if (!deliver) return;
  const running = { calls: inFlight, callerKey: InFlightCalls.callerKey(caller.identity) };
  transport.onmessage = (message, extra) => {
    const cancelled = cancelledRequest(message);
    if (cancelled) inFlight.cancel(running.callerKey, cancelled.requestId, cancelled.reason);
    const plain = legacyEra() ? plainToolCall([message]) : undefined;
    if (!plain) return deliver(message, extra);
    // A limit rather than an AbortController: the call's own limit follows it without an event listener, and its
    // signal is made only if something asks for it.
    const call = linkedAbort([]);
    void answerPlainToolCall(deps, caller, plain, call, running)
      .then((answer) => (call.aborted ? undefined : transport.send(answer)))
      .catch((err: unknown) => transport.onerror?.(err as Error));
  };
}

/** The request a `notifications/cancelled` names, with its reason. */
function cancelledRequest(message: JSONRPCMessage): { requestId: RequestId; reason?: string } | undefined {
  if (!("method" in message) || message.method !== "notifications/cancelled" || "id" in message) return undefined;
  const { requestId, reason } = (message.params ?? {}) as { requestId?: unknown; reason?: unknown };
  if (typeof requestId !== "string" && typeof requestId !== "number") return undefined;
  return { requestId, ...(typeof reason === "string" ? { reason } : {}) };
}
