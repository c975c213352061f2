import { appendFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Where the suite writes the counts that docs/security-figures.md reports (one JSON line per figure). */
export const FIGURES_FILE =
  process.env.SECURITY_FIGURES_FILE ??
  join(dirname(fileURLToPath(import.meta.url)), "..", "..", ".cache", "security-figures.jsonl");

/** Prints a figure and appends it to the figures file, so every run exposes what was tried and what held. */
export function recordFigure(name: string, value: number, detail?: string): void {
  const line = { at: new Date().toISOString(), name, value, ...(detail ? { detail } : {}) };
  console.log(`[figure] ${name}: ${value}${detail ? ` (${detail})` : ""}`);
  try {
    mkdirSync(dirname(FIGURES_FILE), { recursive: true });
    appendFileSync(FIGURES_FILE, `${JSON.stringify(line)}\n`);
  } catch {
    // Figures are a report, never a reason for a test to fail.
  }
}
