import { describe, expect, it } from "vitest";
import { alternate, blockRatios, closedLoop, serverWarmup, throughput } from "../../bench/load.js";

/** A call that takes `duration(i)` units of a fake clock; the clock only moves when a call ends. */
function timedCalls(duration: (i: number) => number) {
  let time = 0;
  const pending: { end: number; resolve: () => void }[] = [];
  const call = (i: number) =>
    new Promise<void>((resolve) => {
      pending.push({ end: time + duration(i), resolve });
      // The earliest end happens next: the clock jumps there once every worker has had its turn.
      queueMicrotask(() => queueMicrotask(step));
    });
  const step = () => {
    if (pending.length === 0) return;
    pending.sort((a, b) => a.end - b.end);
    const first = pending.shift()!;
    time = Math.max(time, first.end);
    first.resolve();
  };
  return { call, now: () => time };
}

describe("closed-loop throughput", () => {
  it("leaves the simultaneous start and the drain out of the steady rate", async () => {
    // Four workers; the first round pays a 100-unit burst, every later call takes 10 units.
    const { call, now } = timedCalls((i) => (i < 4 ? 100 : 10));
    const run = await closedLoop(400, 4, call, now);
    expect(run.errors).toBe(0);
    expect(run.steady).toBeDefined();
    // Four calls in flight, 10 units each: 0.4 calls per unit in the steady part, exactly.
    expect(throughput(run)).toBeCloseTo(400, 6);
    // Over the whole run the burst and the drain count, and the rate is lower.
    expect((run.latencies.length / run.elapsedMs) * 1000).toBeLessThan(380);
  });

  it("falls back to the whole run when it is too short to have a steady part", async () => {
    const { call, now } = timedCalls(() => 10);
    const run = await closedLoop(6, 4, call, now);
    expect(run.steady).toBeUndefined();
    expect(throughput(run)).toBeCloseTo((6 / run.elapsedMs) * 1000, 6);
  });

  it("has no steady part at concurrency 1, where there is no ramp", async () => {
    const { call, now } = timedCalls(() => 10);
    const run = await closedLoop(50, 1, call, now);
    expect(run.steady).toBeUndefined();
  });

  it("keeps each block's rate, and the ratio of the two arms in each pair of blocks", async () => {
    // One clock for both arms; a call takes as many units as it is given.
    const { call, now } = timedCalls((units) => units);
    let sentByA = 0;
    const arms = {
      a: () => call(sentByA++ < 5 ? 10 : 5), // twice as fast in its second block
      b: () => call(20),
    };
    const run = await alternate(10, 1, 2, arms, undefined, now);
    expect(run.a.blockRates).toEqual([100, 200]);
    expect(run.b.blockRates).toEqual([50, 50]);
    expect(blockRatios(run)).toEqual([2, 4]);
  });

  it("gives each arm the CPU its own blocks spent", async () => {
    let spent = 0;
    const arms = {
      a: async () => void (spent += 3),
      b: async () => void (spent += 1),
    };
    const run = await alternate(10, 2, 5, arms, () => [spent]);
    expect(run.a.cpuSeconds).toEqual([30]);
    expect(run.b.cpuSeconds).toEqual([10]);
  });
});

describe("the warm-up of a row at concurrency 1", () => {
  it("is twice the measured calls, never fewer than the plan's warm-up", () => {
    expect(serverWarmup({ calls: 1000, warmup: 50 })).toBe(2000);
    expect(serverWarmup({ calls: 10, warmup: 50 })).toBe(50);
  });
});
