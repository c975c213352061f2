import { describe, expect, it } from "vitest";
import { afterTime, cancelTimer, systemClock } from "../src/clock.js";
import { FakeClock } from "./support/fake-clock.js";

describe("afterTime", () => {
  it("calls back once the clock's time has passed, not before", async () => {
    const clock = new FakeClock();
    let calls = 0;
    afterTime(clock, 100, () => (calls += 1));
    await clock.advance(99);
    expect(calls).toBe(0);
    await clock.advance(1);
    expect(calls).toBe(1);
  });

  it("is stopped by cancelTimer, even when the clock's sleep has just ended and the call is still queued", async () => {
    const clock = new FakeClock();
    let calls = 0;
    const timer = afterTime(clock, 10, () => (calls += 1));
    const moved = clock.advance(10); // wakes the sleep at once; the call waits for a later microtask
    cancelTimer(timer);
    await moved;
    expect(calls).toBe(0);
    expect(clock.waiting).toBe(0);
  });

  it("runs on the system clock as a plain timer that cancelTimer stops", async () => {
    let cancelledCalls = 0;
    cancelTimer(afterTime(systemClock, 0, () => (cancelledCalls += 1)));
    // Timers due at the same time fire in the order they were set: the cancelled one would have come first.
    await new Promise<void>((resolve) => afterTime(systemClock, 0, resolve));
    expect(cancelledCalls).toBe(0);
  });
});
