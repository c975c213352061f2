import type { CallerIdentity } from "../identity/types.js";
import { ErrorCodes, PolicyError } from "../errors.js";
import { quotaCallerKeys } from "./caller-key.js";
import { limitsFor } from "./limits.js";
import type { QuotaStore } from "./quota-store.js";
import type { Slot } from "./slots.js";
import type { CallerLimits, QuotaConfig } from "./schema.js";

/** A call refused by a quota: which limit fired, its value, and when to retry. Audited as denied. */
export class QuotaRefusal extends PolicyError {
  constructor(
    readonly limit: string,
    readonly value: string,
    retryAfterS: number,
  ) {
    super(ErrorCodes.RATE_LIMITED, `The ${limit} quota (${value}) is used up for now.`, {
      retryAfterS,
      hint: "The limit holds across every replica of this server.",
    });
  }
}

/** How long a slot's lease lasts past the call's own deadline. */
const LEASE_GRACE_MS = 30_000;

/** Answers whether a call may start now, and holds its concurrency slots while it runs. */
export class QuotaGate {
  /** Refusals per limit name, for metrics. */
  readonly refusals = new Map<string, number>();

  private readonly config: QuotaConfig;
  private readonly callerKey: (identity: CallerIdentity) => string;

  /**
   * `catalogLimits`: per-tool limits from the tool catalog, which win over `quota.tools` for the same tool;
   * `callersRemembered`: how many callers' keys are kept computed (the server's bound on per-caller memory).
   */
  constructor(
    config: QuotaConfig,
    readonly store: QuotaStore,
    options: { catalogLimits?: Readonly<Record<string, CallerLimits>>; callersRemembered: number },
  ) {
    this.config = { ...config, tools: { ...config.tools, ...options.catalogLimits } };
    this.callerKey = quotaCallerKeys(options.callersRemembered);
  }

  /**
   * Takes the call's points and slots, or throws QuotaRefusal; the returned function gives the slots back. A slot's
   * lease outlasts the call's own deadline (`timeoutMs`), so only a crashed replica's slots ever expire.
   */
  async admit(identity: CallerIdentity, tool: string, timeoutMs: number): Promise<() => void> {
    const limits = limitsFor(this.config, this.callerKey(identity), identity.role, tool);
    // One bucket after another: a call refused by its caller's limit takes nothing from the workspace-wide ones.
    for (const rate of limits.rates) {
      const verdict = await this.store.take(rate.key, rate.perMinute);
      if (!verdict.admitted) throw this.refused(rate.name, `${rate.perMinute} per minute`, verdict.msBeforeNext);
    }
    const held: Slot[] = [];
    const release = () => {
      // A slot the store cannot take back now expires with its lease.
      for (const slot of held.splice(0)) void slot.release().catch(() => undefined);
    };
    const leaseMs = timeoutMs + LEASE_GRACE_MS;
    for (const limit of limits.concurrency) {
      const slot = await this.store.acquire(limit.key, limit.slots, leaseMs);
      if (!slot) {
        release();
        throw this.refused(limit.name, `${limit.slots} at once`, 1000);
      }
      held.push(slot);
    }
    return release;
  }

  /** The caller's own per-minute limit when it is already spent (checked before a request reaches a tool). */
  async spentBefore(identity: CallerIdentity): Promise<QuotaRefusal | undefined> {
    const [callerRate] = limitsFor(this.config, this.callerKey(identity), identity.role, "").rates;
    if (!callerRate) return undefined;
    const verdict = await this.store.peek(callerRate.key, callerRate.perMinute);
    return verdict.admitted
      ? undefined
      : this.refused(callerRate.name, `${callerRate.perMinute} per minute`, verdict.msBeforeNext);
  }

  private refused(limit: string, value: string, msBeforeNext: number): QuotaRefusal {
    this.refusals.set(limit, (this.refusals.get(limit) ?? 0) + 1);
    return new QuotaRefusal(limit, value, Math.max(1, Math.ceil(msBeforeNext / 1000)));
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** Runs `work` inside the caller's quotas (no gate: no quotas); its slots are given back however it ends. */
export async function withinQuota<T>(
  gate: QuotaGate | undefined,
  identity: CallerIdentity,
  call: { tool: string; timeoutMs: number },
  work: () => Promise<T>,
): Promise<T> {
  if (!gate) return work();
  const release = await gate.admit(identity, call.tool, call.timeoutMs);
  try {
    return await work();
  } finally {
    release();
  }
}

/** The audit row's arguments of a call a quota refused, with the limit that fired under `$quota` (the server's key). */
export function withQuotaLimit(args: unknown, failure: unknown): unknown {
  if (!(failure instanceof QuotaRefusal)) return args;
  const quota = `${failure.limit}: ${failure.value}`;
  const isObject = typeof args === "object" && args !== null && !Array.isArray(args);
  return isObject ? { ...args, $quota: quota } : { $arguments: args, $quota: quota };
}
