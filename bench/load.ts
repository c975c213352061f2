/** Latencies (ms) and wall time of a closed-loop run: `concurrency` workers each sending the next call when one ends. */
export interface LoadResult {
  latencies: number[];
  elapsedMs: number;
  calls: number;
  /** Calls that failed (not in `latencies`); the first failure's message is kept for the report. */
  errors: number;
  firstError?: string;
}

export async function closedLoop(
  calls: number,
  concurrency: number,
  call: (i: number) => Promise<unknown>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const worker = async () => {
    while (next < calls) {
      const i = next++;
      const t0 = performance.now();
      try {
        await call(i);
        latencies.push(performance.now() - t0);
      } catch (err) {
        errors += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker));
  if (firstError) console.error(`bench: ${errors} of ${calls} calls failed; first: ${firstError.slice(0, 300)}`);
  return { latencies, elapsedMs: performance.now() - started, calls, errors, firstError };
}

/**
 * Two arms run in alternating blocks (A B, B A, A B …) so drift on a shared machine hits both alike;
 * returns each arm's latencies and the wall time spent in its own blocks.
 */
export async function alternate(
  callsPerArm: number,
  concurrency: number,
  blocks: number,
  arms: { a: (i: number) => Promise<unknown>; b: (i: number) => Promise<unknown> },
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
      const r = await closedLoop(n, concurrency, arms[arm]);
      total[arm].latencies.push(...r.latencies);
      total[arm].elapsedMs += r.elapsedMs;
      total[arm].calls += n;
      total[arm].errors += r.errors;
      total[arm].firstError ??= r.firstError;
    }
  }
  return total;
}

/** Successful calls per second. */
export const throughput = (r: LoadResult) => (r.latencies.length / r.elapsedMs) * 1000;

/** " (n failed: message)" when calls failed, for a figure's detail. */
export const failures = (...runs: LoadResult[]) =>
  runs
    .filter((r) => r.errors > 0)
    .map((r) => `; ${r.errors} failed: ${r.firstError?.slice(0, 80)}`)
    .join("");
