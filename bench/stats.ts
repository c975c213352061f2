/** One row of the benchmark table: a figure, what was measured, its target and whether it was met. */
export interface Figure {
  benchmark: string;
  figure: string;
  measured: string;
  target: string;
  /** undefined: reported for information, no target. */
  pass?: boolean;
  /** Absolute times and counts behind the figure (they vary with the machine; not targets). */
  detail?: string;
}

/** The q-quantile (0..1) of samples, nearest-rank. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5);
}

/** `v` with `digits` decimals, or one more when that rounding would land exactly on `target` (1.004 is not 1.00). */
const against = (v: number, digits: number, target?: number) => {
  const shown = v.toFixed(digits);
  return target !== undefined && Number(shown) === target && v !== target ? v.toFixed(digits + 1) : shown;
};
export const ms = (v: number, digits = 2, target?: number) => `${against(v, digits, target)} ms`;
export const ratio = (v: number, target?: number) => against(v, 2, target);
/** The lowest and highest of sorted ratios, as "0.93–1.01". */
export const ratioRange = (sorted: readonly number[]) =>
  sorted.length === 0 ? "none" : `${ratio(sorted[0]!)}–${ratio(sorted[sorted.length - 1]!)}`;
export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
export const perSecond = (v: number) => `${Math.round(v)}/s`;

const verdict = (f: Figure) => (f.pass === undefined ? "info" : f.pass ? "PASS" : "MISS");

/** A plain-text table for the terminal. */
export function textTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [f.benchmark, f.figure, f.measured, f.target, verdict(f), f.detail ?? ""]);
  const head = ["benchmark", "figure", "measured", "target", "result", "absolute (information)"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("-|-"), ...rows.map(line)].join("\n");
}

/** The same table in Markdown (docs/benchmarks.md). */
export function markdownTable(figures: readonly Figure[]): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  const rows = figures.map(
    (f) =>
      `| ${esc(f.benchmark)} | ${esc(f.figure)} | ${esc(f.measured)} | ${esc(f.target)} | ${verdict(f)} | ${esc(f.detail ?? "")} |`,
  );
  return [
    "| benchmark | figure | measured | target | result | absolute (information) |",
    "|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}
