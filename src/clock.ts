import { setTimeout as delay } from "node:timers/promises";

/**
 * Time as the server sees it. Code that depends on time takes a Clock, so tests move a fake one instead of waiting
 * through a window of wall-clock time.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` of this clock's time; rejects with an AbortError when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(Math.max(0, ms), undefined, signal ? { signal } : undefined),
};

/** A call pending on a clock's time, from `afterTime`; stop it with `cancelTimer`. */
export type ClockTimer = ReturnType<typeof setTimeout> | AbortController;

/**
 * Calls `onTime` once `ms` of `clock`'s time have passed, unless `cancelTimer` comes first. On the system clock this is
 * one unreferenced timer, nothing more (it sits on per-call paths); any other clock is waited on through its `sleep`.
 */
export function afterTime(clock: Clock, ms: number, onTime: () => void): ClockTimer {
  if (clock === systemClock) {
    const timer = setTimeout(onTime, Math.max(0, ms));
    timer.unref();
    return timer;
  }
  const stop = new AbortController();
  // A cancel that lands after the sleep resolved but before this continuation runs still wins.
  clock.sleep(ms, stop.signal).then(
    () => stop.signal.aborted || onTime(),
    () => undefined,
  );
  return stop;
}

/** Stops a timer from `afterTime` (idempotent; undefined is ignored). */
export function cancelTimer(timer: ClockTimer | undefined): void {
  if (timer instanceof AbortController) timer.abort();
  else clearTimeout(timer);
}
