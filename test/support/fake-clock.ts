import type { Clock } from "../../src/clock.js";

interface Sleeper {
  at: number;
  resolve(): void;
}

/** A clock that moves only when a test says so; sleepers wake in order as `advance` passes their time. */
export class FakeClock implements Clock {
  private sleepers: Sleeper[] = [];
  private onSleep: (() => void)[] = [];

  constructor(private current = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason ?? new DOMException("Aborted", "AbortError"));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal!.reason ?? new DOMException("Aborted", "AbortError"));
      };
      const sleeper: Sleeper = {
        at: this.current + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      this.sleepers.push(sleeper);
      signal?.addEventListener("abort", onAbort, { once: true });
      for (const wake of this.onSleep.splice(0)) wake();
    });
  }

  /** Sleepers waiting now. */
  get waiting(): number {
    return this.sleepers.length;
  }

  /** Resolves once at least `count` sleepers wait: the code under test has reached a sleep on this clock. */
  async untilWaiting(count: number): Promise<void> {
    while (this.sleepers.length < count) await new Promise<void>((wake) => this.onSleep.push(wake));
  }

  /** Moves time forward by `ms`, waking each sleeper whose time has come (and letting its continuation run). */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms;
    for (;;) {
      const next = this.earliest(end, true);
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      this.sleepers = this.sleepers.filter((s) => s !== next);
      next.resolve();
      await settle();
    }
    this.current = end;
    await settle();
  }

  /** Moves time forward in steps until `done()` holds (a sleeper woke and the awaited work finished), at most `maxMs`. */
  async advanceUntil(done: () => boolean, stepMs: number, maxMs: number): Promise<void> {
    for (let moved = 0; !done() && moved < maxMs; moved += stepMs) await this.advance(stepMs);
  }

  /**
   * Settles `work` by moving time straight to the next sleeper's wake-up whenever code sleeps on this clock, and
   * never while it only waits on I/O. Sleepers due at or after `before` (e.g. timers guarding a deadline) stay asleep.
   */
  async drive<T>(work: Promise<T>, before = Number.POSITIVE_INFINITY): Promise<T> {
    let settled = false;
    const done = work.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) {
      const next = this.earliest(before, false);
      if (next) await this.advance(next.at - this.current);
      else await Promise.race([done, new Promise<void>((wake) => this.onSleep.push(wake))]);
    }
    return work;
  }

  /** The sleeper due first, among those due before `limit` (or at it, when `inclusive`). */
  private earliest(limit: number, inclusive: boolean): Sleeper | undefined {
    let first: Sleeper | undefined;
    for (const s of this.sleepers)
      if ((s.at < limit || (inclusive && s.at === limit)) && (!first || s.at < first.at)) first = s;
    return first;
  }
}

/** Lets pending promise continuations run (a few macrotask turns, so I/O callbacks queued meanwhile can land too). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}
