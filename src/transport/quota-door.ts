import type { ResolvedCaller } from "../identity/types.js";
import type { QuotaGate, QuotaRefusal } from "../quota/quota-gate.js";

const isToolCall = (m: unknown): m is { method: "tools/call"; params?: unknown } =>
  typeof m === "object" && m !== null && (m as { method?: unknown }).method === "tools/call";

/**
 * A POST carrying tools/call from a caller whose per-minute limit is already spent is refused before any tool runs:
 * 429 with Retry-After (the door's answer for RATE_LIMITED), audited as denied with the limit under `$quota`. It takes
 * no point, so the dispatcher stays the one place where calls are counted. True when refused.
 */
export async function refusedByQuota(
  gate: QuotaGate | undefined,
  body: unknown,
  caller: ResolvedCaller,
  refuse: (err: QuotaRefusal) => Promise<void>,
): Promise<boolean> {
  if (!gate || !(Array.isArray(body) ? body.some(isToolCall) : isToolCall(body))) return false;
  const spent = await gate.spentBefore(caller.identity);
  if (!spent) return false;
  await refuse(spent);
  return true;
}
