/** Latencies (ms) and wall time of a closed-loop run: `concurrency` workers each sending the next call when one ends. */
export interface LoadResult {
  latencies: number[];
  elapsedMs: number;
  calls: number;
  /**
   * The steady part of the run: from the moment the first `concurrency` calls have ended (every worker is past its
   * simultaneous start) until the last call is sent (after which fewer calls are in flight). Exactly `concurrency`
   * calls are in flight throughout; absent when the run is too short to have one.
   */
  steady?: { calls: number; ms: number };
  /** Calls that failed (not in `latencies`); the first failure's message is kept for the report. */
  errors: number;
  firstError?: string;
  /** CPU seconds spent during the run, per meter (see `alternate`), when metered. */
  cpuSeconds?: number[];
  /** Each block's `throughput`, in the order the blocks ran (see `alternate`). */
  blockRates?: number[];
}

export async function closedLoop(
  calls: number,
  concurrency: number,
  call: (i: number) => Promise<unknown>,
  now: () => number = () => performance.now(),
): Promise<LoadResult> {
  const latencies: number[] = [];
  /** When each successful call ended. */
  const ends: number[] = [];
  let ended = 0;
  let rampEnd: number | undefined;
  let lastSent = 0;
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = now();
  const worker = async () => {
    while (next < calls) {
      const i = next++;
      const t0 = now();
      if (next === calls) lastSent = t0;
      try {
        await call(i);
        const t1 = now();
        latencies.push(t1 - t0);
        ends.push(t1);
      } catch (err) {
        errors += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
      ended += 1;
      if (ended === concurrency) rampEnd = now();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker));
  if (firstError) console.error(`bench: ${errors} of ${calls} calls failed; first: ${firstError.slice(0, 300)}`);
  const steadyCalls = rampEnd === undefined ? 0 : ends.filter((t) => t > rampEnd! && t <= lastSent).length;
  const steady =
    concurrency > 1 && steadyCalls >= concurrency ? { calls: steadyCalls, ms: lastSent - rampEnd! } : undefined;
  return { latencies, elapsedMs: now() - started, calls, errors, firstError, steady };
}

/**
 * Two arms run in alternating blocks (A B, B A, A B …) so drift on a shared machine hits both alike;
 * returns each arm's latencies, the wall time spent in its own blocks and each block's rate. `meter`, if given,
 * reads cumulative CPU seconds of some processes; each arm gets the CPU spent during its own blocks.
 */
export async function alternate(
  callsPerArm: number,
  concurrency: number,
  blocks: number,
  arms: { a: (i: number) => Promise<unknown>; b: (i: number) => Promise<unknown> },
  meter?: () => number[],
  now?: () => number,
): Promise<{ a: LoadResult; b: LoadResult }> {
  const total: { a: LoadResult; b: LoadResult } = {
    a: { latencies: [], elapsedMs: 0, calls: 0, errors: 0 },
    b: { latencies: [], elapsedMs: 0, calls: 0, errors: 0 },
  };
  const perBlock = Math.max(1, Math.ceil(callsPerArm / blocks));
  for (let block = 0; total.a.calls < callsPerArm; block += 1) {
    const n = Math.min(perBlock, callsPerArm - total.a.calls);
    const order: ("a" | "b")[] = block % 2 === 0 ? ["a", "b"] : ["b", "a"];
    for (const arm of order) {
      const before = meter?.();
      const r = await closedLoop(n, concurrency, arms[arm], now);
      (total[arm].blockRates ??= []).push(throughput(r));
      if (before) {
        const spent = meter!().map((v, i) => v - before[i]!);
        total[arm].cpuSeconds = spent.map((v, i) => v + (total[arm].cpuSeconds?.[i] ?? 0));
      }
      total[arm].latencies.push(...r.latencies);
      if (r.steady) {
        const sum = total[arm].steady ?? { calls: 0, ms: 0 };
        total[arm].steady = { calls: sum.calls + r.steady.calls, ms: sum.ms + r.steady.ms };
      }
      total[arm].elapsedMs += r.elapsedMs;
      total[arm].calls += n;
      total[arm].errors += r.errors;
      total[arm].firstError ??= r.firstError;
    }
  }
  return total;
}

/**
 * Successful calls per second: over the steady part when the run had one (ramp-up and drain are artefacts of starting
 * and stopping a closed loop, repeated at every block), else over the whole run.
 */
export const throughput = (r: LoadResult) =>
  r.steady ? (r.steady.calls / r.steady.ms) * 1000 : (r.latencies.length / r.elapsedMs) * 1000;

/**
 * The ratio of arm A's rate to arm B's in each pair of blocks that ran next to each other, lowest first: how far one
 * run's ratio moves from block to block on the machine it ran on.
 */
export function blockRatios(run: { a: LoadResult; b: LoadResult }): number[] {
  const a = run.a.blockRates ?? [];
  const b = run.b.blockRates ?? [];
  return a
    .slice(0, b.length)
    .map((rate, i) => rate / b[i]!)
    .sort((x, y) => x - y);
}

/** " (n failed: message)" when calls failed, for a figure's detail. */
export const failures = (...runs: LoadResult[]) =>
  runs
    .filter((r) => r.errors > 0)
    .map((r) => `; ${r.errors} failed: ${r.firstError?.slice(0, 80)}`)
    .join("");

/**
 * Calls a server gets before a row at concurrency 1 is measured. At c=1 V8 optimizes per-call code only after a few
 * thousand calls (the stdio server's CPU per call fell from ~1.8 to ~1.1 ms over the first 2,000 in a one-off
 * measurement; over HTTP the added p50 was 1.32–1.48 ms after 200 warm-up calls and 1.05–1.06 ms after 4,000); an
 * operator's long-running server is in that steady state.
 */
export const serverWarmup = (options: { calls: number; warmup: number }) => Math.max(options.warmup, 2 * options.calls);
