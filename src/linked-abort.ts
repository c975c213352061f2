import { EventEmitter } from "node:events";
import { afterTime, cancelTimer, systemClock, type Clock, type ClockTimer } from "./clock.js";

/** A signal that aborts when any source does, or when its own time runs out; `dispose` when the work is done. */
export interface LinkedAbort {
  /** Made when first asked for: making one costs microseconds, and a limit linked to this one does not need it. */
  readonly signal: AbortSignal;
  /** True once aborted, by a source, the time limit or `abort`. */
  readonly aborted: boolean;
  /** Why it aborted (undefined until then), as an AbortSignal's `reason`. */
  readonly reason: unknown;
  /** True once the time limit, not a source, aborted the signal (a source's own time limit it waited on counts). */
  readonly timedOut: boolean;
  /** When the time limit aborts the signal, on its clock (Infinity without one). */
  readonly endsAt: number;
  /**
   * This limit as the EventEmitter undici takes for a request's `signal` (it emits `abort`; `aborted` and `reason`
   * say how it ended): a request bounded by it needs no AbortSignal made.
   */
  readonly emitter: EventEmitter;
  /** Stops the timer and detaches from the sources (idempotent). */
  dispose(): void;
  /** Aborts the signal itself (a cancellation no source carries), then disposes. */
  abort(reason?: unknown): void;
}

/** What a limit follows: a signal, or a limit made here (linked without an event listener, or its signal). */
export type AbortSource = AbortSignal | LinkedAbort;

/** What work runs under: a limit made here as it is (its signal need not be made), otherwise its signal. */
export function abortSourceOf(call: { readonly signal: AbortSignal }): AbortSource {
  return call instanceof Limit ? call : call.signal;
}

/** A source as an AbortSignal, for what takes nothing else (`fetch`, timers): a limit's signal is made then. */
export function signalOf(source: AbortSource): AbortSignal;
export function signalOf(source: AbortSource | undefined): AbortSignal | undefined;
export function signalOf(source: AbortSource | undefined): AbortSignal | undefined {
  return source === undefined || source instanceof AbortSignal ? source : source.signal;
}

/** The linked signals made here, by their signal: a signal linked to one of them needs no listener. */
const made = new WeakMap<AbortSignal, Limit>();

/** The limit a source is, or whose signal it is. */
const limitOf = (source: AbortSource | undefined): Limit | undefined =>
  source instanceof Limit ? source : source instanceof AbortSignal ? made.get(source) : undefined;

/**
 * `AbortSignal.any` plus `AbortSignal.timeout` for work with a known end: plain listeners and one timer, removed by
 * `dispose`, instead of the weak references and finalizers those keep per signal (measurable on the per-call path).
 * The time limit runs on `clock`. A source made here is linked without an event listener, and when its own time limit
 * ends no later on the same clock (a workspace request within its call's deadline), it stands in for this one's timer:
 * each costs microseconds on cold caches, several times per call.
 */
export function linkedAbort(
  sources: readonly (AbortSource | undefined)[],
  timeoutMs?: number,
  clock: Clock = systemClock,
): LinkedAbort {
  return new Limit(sources, timeoutMs, clock);
}

/**
 * The limit `signal` stands for when it was made here and aborts, at the latest, at `endsAt` on `clock`: work bounded
 * by both needs no limit of its own (and no signal: each costs microseconds to make). Undefined otherwise.
 */
export function limitWithin(
  source: AbortSource | undefined,
  endsAt: number,
  clock: Clock,
): Pick<LinkedAbort, "emitter" | "timedOut"> | undefined {
  const limit = limitOf(source);
  return limit && limit.clock === clock && limit.endsAt <= endsAt ? limit : undefined;
}

// A class rather than an object literal: a literal with a getter is built by the runtime each time, some 250 ns warm
// and microseconds on a per-call path's cold caches. An EventEmitter, so that undici can follow it as it is.
class Limit extends EventEmitter implements LinkedAbort {
  readonly endsAt: number;
  private readonly controller = new AbortController();
  readonly clock: Clock;
  private timer?: ClockTimer;
  private timedOutBy = false;
  private abortedWith?: { reason: unknown };
  private signalMade = false;
  /** Linked signals made from this one, told when it aborts. */
  private readonly children = new Set<Limit>();
  /** The source made here whose time limit stands in for this one's. */
  private readonly covering?: Limit;
  /** Where this one is linked, until `dispose`: sources made here (as their child) and other signals (by a listener). */
  private parents: Limit[] = [];
  private listened: { source: AbortSignal; onAbort: () => void }[] = [];

  constructor(sources: readonly (AbortSource | undefined)[], timeoutMs: number | undefined, clock: Clock) {
    super();
    // Each request bounded by this limit listens while it runs; a call may run more than ten at once.
    this.setMaxListeners(0);
    this.clock = clock;
    const ownEnd = timeoutMs === undefined ? Infinity : clock.now() + timeoutMs;
    // The source whose own limit ends first, if it ends no later than this one's: its timeout is this one's.
    for (const source of sources) {
      const limit = limitOf(source);
      if (limit?.clock === clock && limit.endsAt <= ownEnd && limit.endsAt <= (this.covering?.endsAt ?? Infinity))
        this.covering = limit;
    }
    this.endsAt = this.covering?.endsAt ?? ownEnd;
    for (const source of sources) {
      if (!source) continue;
      const parent = limitOf(source);
      if (parent?.abortedWith) {
        this.abortWith(parent.abortedWith.reason, parent === this.covering && parent.timedOutBy);
        return;
      }
      if (parent) {
        parent.children.add(this);
        this.parents.push(parent);
      } else {
        const signal = signalOf(source);
        if (signal.aborted) {
          this.abortWith(signal.reason, false);
          return;
        }
        const onAbort = () => this.abortWith(signal.reason, false);
        signal.addEventListener("abort", onAbort, { once: true });
        this.listened.push({ source: signal, onAbort });
      }
    }
    if (!this.covering && timeoutMs !== undefined)
      this.timer = afterTime(clock, timeoutMs, () =>
        this.abortWith(new DOMException("The operation timed out.", "TimeoutError"), true),
      );
  }

  get signal(): AbortSignal {
    const { signal } = this.controller;
    if (!this.signalMade) {
      made.set(signal, this);
      this.signalMade = true;
    }
    return signal;
  }

  get aborted(): boolean {
    return this.abortedWith !== undefined;
  }

  get reason(): unknown {
    return this.abortedWith?.reason;
  }

  get emitter(): EventEmitter {
    return this;
  }

  get timedOut(): boolean {
    return this.timedOutBy;
  }

  dispose(): void {
    cancelTimer(this.timer);
    this.timer = undefined;
    for (const parent of this.parents) parent.children.delete(this);
    for (const { source, onAbort } of this.listened) source.removeEventListener("abort", onAbort);
    this.parents = [];
    this.listened = [];
  }

  abort(reason?: unknown): void {
    this.dispose();
    this.abortWith(reason, false);
  }

  /** Aborts this signal, and the signals linked to it; `byTime`: a time limit did, this one's or one it waited on. */
  private abortWith(reason: unknown, byTime: boolean): void {
    if (this.abortedWith) return;
    // The reason an AbortController gives when none is: one instance for this signal and those linked to it.
    const given = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
    this.abortedWith = { reason: given };
    this.timedOutBy = byTime;
    this.dispose();
    this.controller.abort(given);
    for (const child of [...this.children]) child.abortWith(given, byTime && child.covering === this);
    // Last: an emitter's listener that throws stops the listeners after it, but not the limits linked to this one.
    this.emit("abort");
  }
}
