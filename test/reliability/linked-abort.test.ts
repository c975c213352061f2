import { once } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { abortSourceOf, limitWithin, linkedAbort, signalOf } from "../../src/linked-abort.js";
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

  describe("linked to a signal made here", () => {
    /** A signal whose listener calls are counted. */
    const counted = (signal: AbortSignal) => {
      const calls = { added: 0 };
      const add = signal.addEventListener.bind(signal);
      signal.addEventListener = ((...args: Parameters<typeof add>) => {
        calls.added += 1;
        return add(...args);
      }) as typeof add;
      return calls;
    };

    it("follows it without an event listener, with its reason, and not as a timeout", () => {
      const call = linkedAbort([]);
      const listeners = counted(call.signal);
      const limit = linkedAbort([call.signal], 60_000);
      call.abort("cancelled by the client");
      expect(listeners.added).toBe(0);
      expect(limit.signal.reason).toBe("cancelled by the client");
      expect(limit.timedOut).toBe(false);
      limit.dispose();
    });

    it("waits on its time limit rather than its own when that ends no later, and counts it as its own", async () => {
      const clock = new FakeClock();
      const call = linkedAbort([], 100, clock);
      const request = linkedAbort([call.signal], 100, clock);
      expect(clock.waiting).toBe(1);
      expect(request.endsAt).toBe(call.endsAt);
      await clock.advance(100);
      expect(request.signal.aborted).toBe(true);
      expect(request.timedOut).toBe(true);
      expect((request.signal.reason as DOMException).name).toBe("TimeoutError");
    });

    it("keeps a timer of its own when its limit ends first, or runs on another clock", async () => {
      const clock = new FakeClock();
      const call = linkedAbort([], 100, clock);
      const shorter = linkedAbort([call.signal], 10, clock);
      const elsewhere = linkedAbort([call.signal], 1000, new FakeClock());
      expect(clock.waiting).toBe(2);
      expect(elsewhere.endsAt).not.toBe(call.endsAt);
      await clock.advance(10);
      expect(shorter.timedOut).toBe(true);
      expect(call.signal.aborted).toBe(false);
      await clock.advance(90);
      expect(elsewhere.signal.aborted).toBe(true);
      expect(elsewhere.timedOut).toBe(false);
      elsewhere.dispose();
    });

    it("is aborted at once by one already aborted, as a timeout only when that one timed out", async () => {
      const clock = new FakeClock();
      const timed = linkedAbort([], 5, clock);
      await clock.advance(5);
      expect(linkedAbort([timed.signal], 10, clock).timedOut).toBe(true);
      const cancelled = linkedAbort([]);
      cancelled.abort("gone");
      const late = linkedAbort([cancelled.signal], 10, clock);
      expect(late.signal.reason).toBe("gone");
      expect(late.timedOut).toBe(false);
    });

    it("after dispose, neither its source nor the source's time limit reaches it", async () => {
      const clock = new FakeClock();
      const call = linkedAbort([], 100, clock);
      const request = linkedAbort([call.signal], 100, clock);
      request.dispose();
      await clock.advance(100);
      expect(call.timedOut).toBe(true);
      expect(request.signal.aborted).toBe(false);
      expect(request.timedOut).toBe(false);
    });

    it("stands for work bounded by it: a signal made here ending in time, on the same clock, nothing else", async () => {
      const clock = new FakeClock();
      const call = linkedAbort([], 100, clock);
      expect(limitWithin(call.signal, call.endsAt, clock)).toBe(call);
      expect(limitWithin(call.signal, call.endsAt - 1, clock)).toBeUndefined();
      expect(limitWithin(call.signal, call.endsAt, new FakeClock())).toBeUndefined();
      expect(limitWithin(new AbortController().signal, Infinity, clock)).toBeUndefined();
      expect(limitWithin(undefined, Infinity, clock)).toBeUndefined();
      await clock.advance(100);
      expect(limitWithin(call.signal, call.endsAt, clock)?.timedOut).toBe(true);
    });

    it("follows a limit made here without making that limit's signal (making one costs microseconds)", () => {
      const made = vi.spyOn(AbortController.prototype, "signal", "get");
      const call = linkedAbort([]);
      const limit = linkedAbort([abortSourceOf(call)], 60_000);
      expect(made).not.toHaveBeenCalled();
      made.mockRestore();
      call.abort("cancelled by the client");
      expect(call.aborted).toBe(true);
      expect(limit.aborted).toBe(true);
      expect(limit.signal.reason).toBe("cancelled by the client");
      expect(abortSourceOf(new AbortController())).toBeInstanceOf(AbortSignal);
    });

    it("aborted without a reason, gives the one AbortError to the limits that follow it", () => {
      const call = linkedAbort([]);
      const limit = linkedAbort([call], 60_000);
      call.abort();
      expect((call.signal.reason as DOMException).name).toBe("AbortError");
      expect(limit.signal.reason).toBe(call.signal.reason);
    });

    it("is an emitter undici can follow: one `abort` to each listener, with its reason; none once removed", () => {
      const call = linkedAbort([]);
      const heard: unknown[] = [];
      const removed = () => heard.push("removed listener");
      call.emitter.once("abort", () => heard.push(call.reason));
      call.emitter.once("abort", removed);
      call.emitter.removeListener("abort", removed);
      expect(call.reason).toBeUndefined();
      call.abort("cancelled by the client");
      call.abort("again");
      expect(heard).toEqual(["cancelled by the client"]);
      expect(signalOf(call).reason).toBe("cancelled by the client");
      const signal = new AbortController().signal;
      expect(signalOf(signal)).toBe(signal);
      expect(signalOf(undefined)).toBeUndefined();
    });

    it("aborts the limits that follow it even when a listener of its emitter throws", () => {
      const call = linkedAbort([]);
      const limit = linkedAbort([call], 60_000);
      call.emitter.once("abort", () => {
        throw new Error("a listener failed");
      });
      expect(() => call.abort("cancelled by the client")).toThrow("a listener failed");
      expect(limit.aborted).toBe(true);
      expect(limit.reason).toBe("cancelled by the client");
    });

    it("ends with no time limit when neither it nor its sources have one", () => {
      expect(linkedAbort([linkedAbort([]).signal]).endsAt).toBe(Infinity);
    });
  });
});
