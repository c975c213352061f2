import type { RequestId } from "@modelcontextprotocol/server";
import type { CallerIdentity } from "../identity/types.js";

/** What a running call is cancelled through: an AbortController, or a signal already linked to its other sources. */
export interface AbortableCall {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
}

/**
 * The tool calls running in this process, by caller and JSON-RPC id. In stateless HTTP a client's
 * `notifications/cancelled` arrives on a new POST, served by a new protocol server that never saw the call; this
 * registry lets it reach the call. Keys include the verified caller, so no one can cancel another caller's call.
 */
export class InFlightCalls {
  private readonly calls = new Map<string, Set<AbortableCall>>();

  /** A stable key of who is calling: never a token, only what the credential was verified to stand for. */
  static callerKey(identity: CallerIdentity): string {
    return JSON.stringify([
      identity.mode,
      identity.source,
      identity.human ?? "",
      // Two IdPs may issue the same subject: the issuer is part of who the caller is.
      identity.issuer ?? "",
      identity.expectedPrincipal ?? "",
      identity.role ?? "",
    ]);
  }

  get size(): number {
    return this.calls.size;
  }

  /**
   * Registers a running call; the returned signal aborts when the caller cancels it. Call `release` when done. A call
   * that already has a linked signal passes it, so a cancellation costs no signal of its own.
   */
  register(
    callerKey: string,
    requestId: RequestId,
    controller: AbortableCall = new AbortController(),
  ): { signal: AbortSignal; release(): void } {
    const key = InFlightCalls.key(callerKey, requestId);
    let set = this.calls.get(key);
    if (!set) this.calls.set(key, (set = new Set()));
    set.add(controller);
    return new Registration(controller, () => {
      set.delete(controller);
      if (set.size === 0 && this.calls.get(key) === set) this.calls.delete(key);
    });
  }

  /** Cancels this caller's calls with this id; returns how many were running. */
  cancel(callerKey: string, requestId: RequestId, reason?: string): number {
    const set = this.calls.get(InFlightCalls.key(callerKey, requestId));
    if (!set) return 0;
    for (const controller of set) controller.abort(reason ?? "cancelled by the client");
    return set.size;
  }

  private static key(callerKey: string, requestId: RequestId): string {
    return `${callerKey}\u0000${typeof requestId}:${String(requestId)}`;
  }
}

/** A call's place among the running calls; its signal is made only when asked for (making one costs microseconds). */
class Registration {
  constructor(
    private readonly call: AbortableCall,
    readonly release: () => void,
  ) {}

  get signal(): AbortSignal {
    return this.call.signal;
  }
}
