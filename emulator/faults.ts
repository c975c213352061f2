import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { sendJson } from "./http/router.js";

/** One injected fault, matched by method (optional) and path prefix. */
export interface FaultRule {
  pathPrefix: string;
  method?: string;
  /** Added before the handler runs. */
  latencyMs?: number;
  /** Answer the next `count` matching requests with this status instead of handling them. */
  failures?: { status: 429 | 500 | 503; count: number; retryAfterS?: number };
  /** Destroy the socket of the next `count` matching requests without answering. */
  resets?: number;
}

/** What the local workspace saw: token requests per grant and principal, JWKS fetches, statements received. */
export class Counters {
  readonly tokenRequests = new Map<string, number>();
  jwksFetches = 0;
  readonly statements: { principal: string; statement: string; parameters: unknown; queryTags?: unknown }[] = [];
  requests = 0;

  countToken(grantType: string, principal: string): void {
    const key = `${grantType}|${principal}`;
    this.tokenRequests.set(key, (this.tokenRequests.get(key) ?? 0) + 1);
  }

  tokenRequestTotal(grantType?: string): number {
    let n = 0;
    for (const [key, count] of this.tokenRequests) if (!grantType || key.startsWith(`${grantType}|`)) n += count;
    return n;
  }

  reset(): void {
    this.tokenRequests.clear();
    this.jwksFetches = 0;
    this.statements.length = 0;
    this.requests = 0;
  }
}

const FAILURE_CODES: Record<number, string> = {
  429: "REQUEST_LIMIT_EXCEEDED",
  500: "INTERNAL_ERROR",
  503: "TEMPORARILY_UNAVAILABLE",
};

/** Fault injection for tests and benchmarks; rules are consumed in order of registration. */
export class FaultInjector {
  private rules: FaultRule[] = [];

  add(rule: FaultRule): void {
    this.rules.push({ ...rule, failures: rule.failures ? { ...rule.failures } : undefined });
  }

  clear(): void {
    this.rules = [];
  }

  /** Applies matching rules; returns true when the request was answered (or dropped) here. */
  async apply(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    for (const rule of this.rules) {
      if (!pathname.startsWith(rule.pathPrefix)) continue;
      if (rule.method && rule.method !== req.method) continue;
      if (rule.latencyMs) await sleep(rule.latencyMs);
      if (rule.resets && rule.resets > 0) {
        rule.resets -= 1;
        req.socket.destroy();
        return true;
      }
      if (rule.failures && rule.failures.count > 0) {
        rule.failures.count -= 1;
        const { status, retryAfterS } = rule.failures;
        const headers: Record<string, string> = retryAfterS !== undefined ? { "retry-after": String(retryAfterS) } : {};
        sendJson(
          res,
          status,
          { error_code: FAILURE_CODES[status], message: "Injected fault: the service is unavailable." },
          headers,
        );
        return true;
      }
    }
    return false;
  }
}
