import { afterTime, cancelTimer, systemClock, type Clock, type ClockTimer } from "./clock.js";

/** A signal that aborts when any source does, or when its own time runs out; `dispose` when the work is done. */
export interface LinkedAbort {
  signal: AbortSignal;
  /** True once the time limit, not a source, aborted the signal. */
  readonly timedOut: boolean;
  /** Stops the timer and detaches from the sources (idempotent). */
  dispose(): void;
  /** Aborts the signal itself (a cancellation no source carries), then disposes. */
  abort(reason?: unknown): void;
}

/**
 * `AbortSignal.any` plus `AbortSignal.timeout` for work with a known end: plain listeners and one timer, removed by
 * `dispose`, instead of the weak references and finalizers those keep per signal (measurable on the per-call path).
 * The time limit runs on `clock`.
 */
export function linkedAbort(
  sources: readonly (AbortSignal | undefined)[],
  timeoutMs?: number,
  clock: Clock = systemClock,
): LinkedAbort {
  const controller = new AbortController();
  const attached: { source: AbortSignal; onAbort: () => void }[] = [];
  let timer: ClockTimer | undefined;
  let timedOut = false;
  const dispose = () => {
    cancelTimer(timer);
    for (const { source, onAbort } of attached) source.removeEventListener("abort", onAbort);
    attached.length = 0;
  };
  for (const source of sources) {
    if (!source) continue;
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    const onAbort = () => {
      dispose();
      controller.abort(source.reason);
    };
    source.addEventListener("abort", onAbort, { once: true });
    attached.push({ source, onAbort });
  }
  if (controller.signal.aborted) dispose();
  else if (timeoutMs !== undefined) {
    timer = afterTime(clock, timeoutMs, () => {
      timedOut = true;
      dispose();
      controller.abort(new DOMException("The operation timed out.", "TimeoutError"));
    });
  }
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose,
    abort(reason) {
      dispose();
      controller.abort(reason);
    },
  };
}
