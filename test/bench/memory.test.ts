import { describe, expect, it } from "vitest";
import { sustainedMemoryVerdict } from "../../bench/memory.js";

const MIB = 1024 * 1024;
/** A reading in MiB: heap used, RSS less V8's free reserve, external. */
const at = (heap: number, rss: number, external = 4) => ({
  heapUsed: heap * MIB,
  rssLessHeapReserve: rss * MIB,
  external: external * MIB,
});

describe("the sustained-memory bound", () => {
  it("holds when heap and external memory stay flat once the caches are full and resident memory moves within its tolerance", () => {
    const verdict = sustainedMemoryVerdict(at(50, 200), [at(58, 190), at(58, 195), at(58.2, 215), at(58.3, 212)]);
    expect(verdict.bounded).toBe(true);
  });

  it("fails when the heap keeps growing after the caches are full (objects kept per call)", () => {
    // 0.2 KiB kept per call over the second 50,000 calls: ~10 MiB more heap, RSS well inside its tolerance.
    const verdict = sustainedMemoryVerdict(at(50, 200), [at(58, 190), at(63, 195), at(68, 198), at(73, 200)]);
    expect(verdict.heapGrowth).toBe(10 * MIB);
    expect(verdict.bounded).toBe(false);
  });

  it("fails when external memory keeps growing though the heap is flat (buffers kept per call)", () => {
    const verdict = sustainedMemoryVerdict(at(50, 200), [
      at(58, 190, 16),
      at(58, 195, 28),
      at(58, 198, 41),
      at(58, 200, 53),
    ]);
    expect(verdict.externalGrowth).toBe(25 * MIB);
    expect(verdict.bounded).toBe(false);
  });

  it("fails when resident memory less V8's free reserve ends above the first half's peak by more than its tolerance", () => {
    const verdict = sustainedMemoryVerdict(at(50, 200), [at(58, 210), at(58, 220), at(58, 240), at(58, 260)]);
    expect(verdict.rssGrowth).toBe(40 * MIB);
    expect(verdict.bounded).toBe(false);
  });
});
