/** What a doctor check reports, and how the report reads. */
import { asGovernedError } from "../../errors.js";

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export const short = (text: string, n = 240) => (text.length > n ? `${text.slice(0, n)}…` : text);

/** A check's failure as text an operator can act on; never a token (errors raised here carry none). */
export function reason(err: unknown): string {
  const governed = asGovernedError(err);
  if (governed.code === "INTERNAL" && err instanceof Error) return short(err.message);
  return short(`[${governed.code}] ${governed.message}${governed.details.hint ? ` (${governed.details.hint})` : ""}`);
}

const MARK: Record<CheckStatus, string> = { ok: "ok  ", warn: "WARN", fail: "FAIL", skip: "skip" };

/** The report as lines for a terminal. */
export function formatReport(checks: readonly DoctorCheck[]): string {
  const lines = checks.flatMap((c) => [
    `[${MARK[c.status]}] ${c.name}: ${c.detail}`,
    ...(c.fix && c.status !== "ok" ? [`       fix: ${c.fix}`] : []),
  ]);
  const failed = checks.filter((c) => c.status === "fail").length;
  lines.push(failed === 0 ? "All checks passed." : `${failed} check(s) failed.`);
  return lines.join("\n");
}
