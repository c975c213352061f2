import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { auditIntent, refusedBeforeTool, type AuditEntry } from "../../audit/audit-entry.js";
import type { UnverifiedRefusal } from "../../audit/refusal-aggregator.js";
import type { Clock } from "../../clock.js";
import { ErrorCodes, type ErrorCode } from "../../errors.js";

/** Which of the broker's unauthenticated endpoints a request reached; the audit row's tool name. */
export type BrokerEndpoint = "oauth.register" | "oauth.authorize" | "oauth.callback" | "oauth.token" | "oauth.revoke";

/** The two budgets a source address spends: registering clients, and attempts at authorize, callback, token, revoke. */
export type AttemptKind = "registration" | "attempt";

export interface EndpointLimits {
  registrationsPerMinute: number;
  attemptsPerMinute: number;
}

const WINDOW_MS = 60_000;
/** Sources remembered at most; past this the oldest windows are dropped first, so a spray of addresses stays bounded. */
const MAX_SOURCES = 10_000;

/**
 * Per-minute fixed windows per source, on the server's clock (the quota buckets keep wall-clock time of their own,
 * and these endpoints need no sharing across replicas: each replica bounds what reaches it).
 */
export class SourceBuckets {
  private readonly windows = new Map<string, { start: number; used: number }>();

  constructor(private readonly clock: Clock) {}

  /** Takes one attempt; when refused, the seconds until the source's window ends. */
  take(key: string, perMinute: number): { admitted: true } | { admitted: false; retryAfterS: number } {
    const now = this.clock.now();
    let window = this.windows.get(key);
    if (!window || now - window.start >= WINDOW_MS) {
      this.windows.delete(key);
      if (this.windows.size >= MAX_SOURCES) this.windows.delete(this.windows.keys().next().value!);
      this.windows.set(key, (window = { start: now, used: 0 }));
    }
    if (window.used >= perMinute)
      return { admitted: false, retryAfterS: Math.max(1, Math.ceil((window.start + WINDOW_MS - now) / 1000)) };
    window.used += 1;
    return { admitted: true };
  }
}

/** An OAuth-level refusal at one endpoint, as the audit and the log see it (never a code, token or verifier). */
export interface EndpointRefusal {
  endpoint: BrokerEndpoint;
  status: number;
  /** The OAuth error code sent (invalid_request, invalid_grant, ...). */
  error: string;
  source: string | undefined;
}

/** The server's code for an OAuth refusal: its audit row's errorCode. */
export function refusalCode(status: number, error: string): ErrorCode {
  if (status === 429) return ErrorCodes.RATE_LIMITED;
  if (error === "invalid_client" || error === "invalid_grant") return ErrorCodes.UNAUTHENTICATED;
  if (error === "access_denied") return ErrorCodes.ACCESS_DENIED;
  if (status >= 500) return ErrorCodes.UPSTREAM_ERROR;
  return ErrorCodes.INVALID_ARGUMENT;
}

/** Where the guard's audit rows go. */
export interface GuardAudit {
  /** Records one row, durable before the refusal is answered. */
  record(entry: AuditEntry): Promise<void>;
  /** Counts a rate-limited refusal into the row of its source, code and minute (the server's refusal aggregator). */
  fold?(refusal: UnverifiedRefusal): Promise<unknown>;
}

/**
 * Guards the broker's endpoints: rate limits per source address, and audits every refusal (one row each, arguments
 * naming only the endpoint, status, OAuth error and source; rate-limited ones folded per source and minute, so a
 * flood cannot fill the spool) and logs each kind of refusal once.
 */
export class EndpointGuard {
  private readonly buckets: SourceBuckets;
  private readonly logged = new Set<string>();

  constructor(
    private readonly limits: EndpointLimits,
    clock: Clock,
    private readonly logger: Logger,
    private readonly audit: GuardAudit | undefined,
  ) {
    this.buckets = new SourceBuckets(clock);
  }

  /** One attempt of `source` at `kind`: undefined when admitted, else the seconds to wait. */
  admit(kind: AttemptKind, source: string | undefined): number | undefined {
    const perMinute = kind === "registration" ? this.limits.registrationsPerMinute : this.limits.attemptsPerMinute;
    const verdict = this.buckets.take(`${kind}:${source ?? "unknown"}`, perMinute);
    return verdict.admitted ? undefined : verdict.retryAfterS;
  }

  /** Audits the refusal durably before it is answered; logs its kind the first time it is seen. */
  async refused(refusal: EndpointRefusal): Promise<void> {
    const code = refusalCode(refusal.status, refusal.error);
    const kind = `${refusal.endpoint} ${refusal.status} ${refusal.error}`;
    if (!this.logged.has(kind)) {
      this.logged.add(kind);
      this.logger.warn(
        { event: "broker_refusal", endpoint: refusal.endpoint, status: refusal.status, error: refusal.error, code },
        "the sign-in broker refused a request (further refusals of this kind are audited, not logged)",
      );
    }
    if (!this.audit) return;
    if (code === ErrorCodes.RATE_LIMITED && this.audit.fold) {
      const { endpoint: tool, source } = refusal;
      await this.audit.fold({ source, code, tool, credentialSource: "none" });
      return;
    }
    const intent = auditIntent({
      requestId: randomUUID(),
      tool: refusal.endpoint,
      arguments: { status: refusal.status, error: refusal.error, source: refusal.source ?? "unknown" },
      credentialSource: "none",
    });
    await this.audit
      .record(refusedBeforeTool(intent, code))
      .catch((err: unknown) => this.logger.error({ err }, "audit of a refused sign-in request failed"));
  }
}
