import { setTimeout as sleep } from "node:timers/promises";
import { getHeapStatistics } from "node:v8";
import { median } from "./stats.js";

/** Heap and resident memory after a full collection (needs node --expose-gc; otherwise as found). */
export function settledMemory(): { heapUsed: number; rss: number; collected: boolean } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss, collected: Boolean(gc) };
}

export interface RestingMemory {
  heapUsed: number;
  /** What V8 has committed for its heap: live objects and the free space it keeps. */
  heapTotal: number;
  rss: number;
  /** RSS less the pages V8 holds free for its heap to grow into (its reserve moves with the collector, not with leaks). */
  rssLessHeapReserve: number;
  /** Memory of C++ objects bound to JS ones (Buffers included), outside the V8 heap. */
  external: number;
  arrayBuffers: number;
  collected: boolean;
}

/**
 * Memory at rest, read soundly: each sample follows a full collection and a pause in which V8 returns the pages that
 * collection freed (read at once, RSS still holds them: tens of MiB under load); the median of the samples is kept.
 */
export async function restingMemory(samples = 5, gapMs = 300): Promise<RestingMemory> {
  const reads: RestingMemory[] = [];
  for (let i = 0; i < samples; i += 1) {
    const { collected } = settledMemory();
    await sleep(gapMs);
    const { heapUsed, heapTotal, rss, external, arrayBuffers } = process.memoryUsage();
    const heap = getHeapStatistics();
    reads.push({
      heapUsed,
      heapTotal,
      rss,
      rssLessHeapReserve: rss - Math.max(0, heap.total_physical_size - heap.used_heap_size),
      external,
      arrayBuffers,
      collected,
    });
  }
  const mid = (pick: (m: RestingMemory) => number) => median(reads.map(pick));
  return {
    heapUsed: mid((m) => m.heapUsed),
    heapTotal: mid((m) => m.heapTotal),
    rss: mid((m) => m.rss),
    rssLessHeapReserve: mid((m) => m.rssLessHeapReserve),
    external: mid((m) => m.external),
    arrayBuffers: mid((m) => m.arrayBuffers),
    collected: reads[0]!.collected,
  };
}

/** How far resident memory at the end may rise over the first half's peak, as a fraction of that peak. */
export const RSS_TOLERANCE = 0.1;
const MIB = 1024 * 1024;

type Reading = Pick<RestingMemory, "heapUsed" | "rssLessHeapReserve" | "external">;

/**
 * The sustained-memory bound, from a baseline and a reading at each quarter of the calls. The caches are full and
 * evicting by the half-way mark, so from there on heap and external memory must not grow by more than max(2 MiB,
 * 10 %). Resident memory is read less V8's free reserve (which swings by tens of MiB with the collector's sizing)
 * and still moves a little with the allocator, so its end is held to the first half's peak plus RSS_TOLERANCE.
 */
export function sustainedMemoryVerdict(base: Reading, quarters: readonly Reading[]) {
  const half = quarters[1]!;
  const last = quarters.at(-1)!;
  const heapGrowth = last.heapUsed - half.heapUsed;
  const externalGrowth = last.external - half.external;
  const firstHalfPeak = Math.max(base.rssLessHeapReserve, ...quarters.slice(0, 2).map((q) => q.rssLessHeapReserve));
  const rssGrowth = last.rssLessHeapReserve - firstHalfPeak;
  const bounded =
    heapGrowth <= Math.max(2 * MIB, 0.1 * half.heapUsed) &&
    externalGrowth <= Math.max(2 * MIB, 0.1 * half.external) &&
    rssGrowth <= RSS_TOLERANCE * firstHalfPeak;
  return { heapGrowth, externalGrowth, rssGrowth, bounded };
}

/** Samples heapUsed and rss every few ms while `work` runs; returns its value and the peaks seen. */
export async function withPeakMemory<T>(
  work: () => Promise<T>,
): Promise<{ value: T; peakHeap: number; peakRss: number }> {
  let peakHeap = 0;
  let peakRss = 0;
  const sample = () => {
    const { heapUsed, rss } = process.memoryUsage();
    peakHeap = Math.max(peakHeap, heapUsed);
    peakRss = Math.max(peakRss, rss);
  };
  const timer = setInterval(sample, 2);
  try {
    const value = await work();
    sample();
    return { value, peakHeap, peakRss };
  } finally {
    clearInterval(timer);
  }
}
