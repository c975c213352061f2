import type { ResolvedCaller } from "../identity/types.js";
import { withQuotaLimit, type QuotaGate, type QuotaRefusal } from "../quota/quota-gate.js";

const isToolCall = (m: unknown): m is { method: "tools/call"; params?: unknown } =>
  typeof m === "object" && m !== null && (m as { method?: unknown }).method === "tools/call";

/** The body as its audit rows should name it: each tools/call's arguments with the limit that fired under `$quota`. */
function withLimitInCalls(body: unknown, refusal: QuotaRefusal): unknown {
  const mark = (m: unknown) => {
    if (!isToolCall(m)) return m;
    const params = typeof m.params === "object" && m.params !== null ? (m.params as Record<string, unknown>) : {};
    return { ...m, params: { ...params, arguments: withQuotaLimit(params.arguments ?? {}, refusal) } };
  };
  return Array.isArray(body) ? body.map(mark) : mark(body);
}

/**
 * A POST carrying tools/call from a caller whose per-minute limit is already spent is refused before any tool runs:
 * 429 with Retry-After (the door's answer for RATE_LIMITED), audited as denied with the limit under `$quota`. It takes
 * no point, so the dispatcher stays the one place where calls are counted. True when refused.
 */
export async function refusedByQuota(
  gate: QuotaGate | undefined,
  body: unknown,
  caller: ResolvedCaller,
  refuse: (err: QuotaRefusal, auditedBody: unknown) => Promise<void>,
): Promise<boolean> {
  if (!gate || !(Array.isArray(body) ? body.some(isToolCall) : isToolCall(body))) return false;
  const spent = await gate.spentBefore(caller.identity);
  if (!spent) return false;
  await refuse(spent, withLimitInCalls(body, spent));
  return true;
}
