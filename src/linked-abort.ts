import { afterTime, cancelTimer, systemClock, type Clock, type ClockTimer } from "./clock.js";

/** A signal that aborts when any source does, or when its own time runs out; `dispose` when the work is done. */
export interface LinkedAbort {
  signal: AbortSignal;
  /** True once the time limit, not a source, aborted the signal (a source's own time limit it waited on counts). */
  readonly timedOut: boolean;
  /** When the time limit aborts the signal, on its clock (Infinity without one). */
  readonly endsAt: number;
  /** Stops the timer and detaches from the sources (idempotent). */
  dispose(): void;
  /** Aborts the signal itself (a cancellation no source carries), then disposes. */
  abort(reason?: unknown): void;
}

/** What a signal made here knows of itself, so that a signal linked to it needs no listener and, often, no timer. */
interface Link {
  /** Told when this signal aborts: with the reason, and whether a time limit aborted it. */
  readonly children: Set<(reason: unknown, timedOut: boolean) => void>;
  readonly clock: Clock;
  readonly endsAt: number;
  /** True once a time limit (its own, or the source's it waited on) aborted it. */
  timedOut: boolean;
}

const links = new WeakMap<AbortSignal, Link>();

/**
 * `AbortSignal.any` plus `AbortSignal.timeout` for work with a known end: plain listeners and one timer, removed by
 * `dispose`, instead of the weak references and finalizers those keep per signal (measurable on the per-call path).
 * The time limit runs on `clock`. A source made here is linked without an event listener, and when its own time limit
 * ends no later on the same clock (a workspace request within its call's deadline), it stands in for this one's timer:
 * each costs microseconds on cold caches, several times per call.
 */
export function linkedAbort(
  sources: readonly (AbortSignal | undefined)[],
  timeoutMs?: number,
  clock: Clock = systemClock,
): LinkedAbort {
  const controller = new AbortController();
  const { signal } = controller;
  const ownEnd = timeoutMs === undefined ? Infinity : clock.now() + timeoutMs;
  // The source whose own limit ends first, if it ends no later than this one's: its timeout is this one's.
  let covering: Link | undefined;
  for (const source of sources) {
    const link = source && links.get(source);
    if (link?.clock === clock && link.endsAt <= ownEnd && link.endsAt <= (covering?.endsAt ?? Infinity))
      covering = link;
  }
  const endsAt = covering?.endsAt ?? ownEnd;
  const link: Link = { children: new Set(), clock, endsAt, timedOut: false };
  links.set(signal, link);
  const detach: (() => void)[] = [];
  let timer: ClockTimer | undefined;
  const dispose = () => {
    cancelTimer(timer);
    timer = undefined;
    for (const off of detach) off();
    detach.length = 0;
  };
  const abortWith = (reason: unknown, byTime: boolean) => {
    if (signal.aborted) return;
    link.timedOut = byTime;
    dispose();
    controller.abort(reason);
    for (const child of [...link.children]) child(reason, byTime);
  };
  for (const source of sources) {
    if (!source) continue;
    const parent = links.get(source);
    if (source.aborted) {
      abortWith(source.reason, parent !== undefined && parent === covering && parent.timedOut);
      break;
    }
    if (parent) {
      const onAbort = (reason: unknown, byTime: boolean) => abortWith(reason, byTime && parent === covering);
      parent.children.add(onAbort);
      detach.push(() => parent.children.delete(onAbort));
    } else {
      const onAbort = () => abortWith(source.reason, false);
      source.addEventListener("abort", onAbort, { once: true });
      detach.push(() => source.removeEventListener("abort", onAbort));
    }
  }
  if (!signal.aborted && !covering && timeoutMs !== undefined)
    timer = afterTime(clock, timeoutMs, () =>
      abortWith(new DOMException("The operation timed out.", "TimeoutError"), true),
    );
  return {
    signal,
    get timedOut() {
      return link.timedOut;
    },
    endsAt,
    dispose,
    abort(reason) {
      dispose();
      abortWith(reason, false);
    },
  };
}
