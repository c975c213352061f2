import { setTimeout as sleep } from "node:timers/promises";
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
  rss: number;
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
    settledMemory();
    await sleep(gapMs);
    const { heapUsed, rss, external, arrayBuffers } = process.memoryUsage();
    reads.push({ heapUsed, rss, external, arrayBuffers, collected: Boolean((globalThis as { gc?: unknown }).gc) });
  }
  const mid = (pick: (m: RestingMemory) => number) => median(reads.map(pick));
  return {
    heapUsed: mid((m) => m.heapUsed),
    rss: mid((m) => m.rss),
    external: mid((m) => m.external),
    arrayBuffers: mid((m) => m.arrayBuffers),
    collected: reads[0]!.collected,
  };
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
