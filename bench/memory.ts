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
