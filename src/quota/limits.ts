import type { QuotaConfig } from "./schema.js";

/** A per-minute bucket a call takes one point from. */
export interface RateLimit {
  /** The limit's name in answers, audit rows and metrics (e.g. `caller_rate`, `genie_rate`). */
  name: string;
  key: string;
  perMinute: number;
}

/** A bucket of slots a call holds while it runs. */
export interface ConcurrencyLimit {
  name: string;
  key: string;
  slots: number;
}

export interface CallLimits {
  rates: RateLimit[];
  concurrency: ConcurrencyLimit[];
}

/**
 * The limits one call is held to: the caller's (its role's when configured), the tool's per caller when configured,
 * and each upstream the tool reaches, workspace-wide. A limit of 0 is off.
 */
export function limitsFor(config: QuotaConfig, callerKey: string, role: string | undefined, tool: string): CallLimits {
  const byRole = role !== undefined ? config.roles[role] : undefined;
  const caller = {
    requestsPerMinute: byRole?.requestsPerMinute ?? config.caller.requestsPerMinute,
    concurrentCalls: byRole?.concurrentCalls ?? config.caller.concurrentCalls,
  };
  const perTool = config.tools[tool];
  const rates: RateLimit[] = [{ name: "caller_rate", key: `c:${callerKey}`, perMinute: caller.requestsPerMinute }];
  const concurrency: ConcurrencyLimit[] = [
    { name: "caller_concurrency", key: `c:${callerKey}`, slots: caller.concurrentCalls },
  ];
  if (perTool?.requestsPerMinute !== undefined)
    rates.push({ name: "tool_rate", key: `t:${tool}:${callerKey}`, perMinute: perTool.requestsPerMinute });
  if (perTool?.concurrentCalls !== undefined)
    concurrency.push({ name: "tool_concurrency", key: `t:${tool}:${callerKey}`, slots: perTool.concurrentCalls });
  for (const [upstream, limits] of Object.entries(config.upstreams)) {
    if (!limits.tools.includes(tool)) continue;
    rates.push({ name: `${upstream}_rate`, key: `u:${upstream}`, perMinute: limits.requestsPerMinute });
    concurrency.push({ name: `${upstream}_in_flight`, key: `u:${upstream}`, slots: limits.inFlight });
  }
  return { rates: rates.filter((r) => r.perMinute > 0), concurrency: concurrency.filter((c) => c.slots > 0) };
}
