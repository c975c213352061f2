import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { linkedAbort } from "../../src/linked-abort.js";
import { FakeClock } from "../support/fake-clock.js";

describe("linkedAbort", () => {
  it("aborts with the reason of whichever source aborts first, and not as a timeout", () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkedAbort([a.signal, undefined, b.signal], 60_000);
    b.abort("second");
    a.abort("first");
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe("second");
    expect(linked.timedOut).toBe(false);
  });

  it("aborts as a timeout when its time runs out on its clock, not before", async () => {
    const clock = new FakeClock();
    const source = new AbortController();
    const linked = linkedAbort([source.signal], 10, clock);
    await clock.advance(9);
    expect(linked.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(linked.signal.aborted).toBe(true);
    expect(linked.timedOut).toBe(true);
    expect((linked.signal.reason as DOMException).name).toBe("TimeoutError");
  });

  it("aborts itself with the reason given, and then no longer listens to its sources", () => {
    const clock = new FakeClock();
    const source = new AbortController();
    const linked = linkedAbort([source.signal], 10, clock);
    linked.abort("cancelled by the client");
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe("cancelled by the client");
    expect(clock.waiting).toBe(0);
    source.abort("late");
    expect(linked.signal.reason).toBe("cancelled by the client");
    expect(linked.timedOut).toBe(false);
  });

  it("is aborted at once when a source already is", () => {
    const source = new AbortController();
    source.abort("gone");
    const linked = linkedAbort([source.signal], 10);
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe("gone");
  });

  it("aborts as a timeout on the system clock by default", async () => {
    const linked = linkedAbort([new AbortController().signal], 1);
    await once(linked.signal, "abort");
    expect(linked.timedOut).toBe(true);
  });

  it("after dispose, neither a source nor the timer reaches it", async () => {
    const clock = new FakeClock();
    const source = new AbortController();
    const linked = linkedAbort([source.signal], 10, clock);
    linked.dispose();
    source.abort("late");
    await clock.advance(100);
    expect(clock.waiting).toBe(0);
    expect(linked.signal.aborted).toBe(false);
    expect(linked.timedOut).toBe(false);
  });

  it("leaves no listener on a long-lived source once disposed", () => {
    const source = new AbortController();
    let added = 0;
    let removed = 0;
    const add = source.signal.addEventListener.bind(source.signal);
    const remove = source.signal.removeEventListener.bind(source.signal);
    source.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added += 1;
      return add(...args);
    }) as typeof add;
    source.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed += 1;
      return remove(...args);
    }) as typeof remove;
    for (let i = 0; i < 100; i += 1) linkedAbort([source.signal], 1000).dispose();
    expect(added).toBe(100);
    expect(removed).toBe(100);
  });
});
