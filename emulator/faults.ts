import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { decodeJwt } from "jose";
import { sendJson } from "./http/router.js";
import type { Seed } from "./seed/schema.js";

/** One injected fault, matched by path prefix and optionally by method, calling principal and x-request-id. */
export interface FaultRule {
  pathPrefix: string;
  method?: string;
  /** Only requests whose bearer token's subject is this principal (user email or service principal application id). */
  principal?: string;
  /** Only requests carrying this x-request-id. */
  requestId?: string;
  /** Added before the handler runs. */
  latencyMs?: number;
  /** Answer the next `count` matching requests with this status instead of handling them. */
  failures?: { status: 429 | 500 | 502 | 503 | 504; count: number; retryAfterS?: number; retryAfterDate?: boolean };
  /** Destroy the socket of the next `count` matching requests without answering. */
  resets?: number;
  /** Accept the next `count` matching requests and never answer: the client must give up on its own. */
  stalls?: number;
  /** Answer the next `count` statement submissions with a terminal FAILED or CANCELED statement. */
  statements?: { state: "FAILED" | "CANCELED"; count: number; errorCode?: string; message?: string };
}

/** The statements `Counters` keeps, the most recent ones: a long-running workspace keeps a bounded log. */
export const STATEMENT_LOG_LIMIT = 10_000;

export interface ReceivedStatement {
  principal: string;
  statement: string;
  parameters: unknown;
  queryTags?: unknown;
}

/** What the local workspace saw: token requests per grant and principal, JWKS fetches, statements received. */
export class Counters {
  readonly tokenRequests = new Map<string, number>();
  jwksFetches = 0;
  /** The last `STATEMENT_LOG_LIMIT` statements received, oldest first. */
  readonly statements: ReceivedStatement[] = [];
  /** Every statement received since the last reset, including those the log no longer holds. */
  statementsReceived = 0;
  requests = 0;

  countStatement(statement: ReceivedStatement): void {
    this.statementsReceived += 1;
    this.statements.push(statement);
    // Trimmed a tenth at a time, so that a full log does not move all its entries on every statement.
    if (this.statements.length > STATEMENT_LOG_LIMIT * 1.1)
      this.statements.splice(0, this.statements.length - STATEMENT_LOG_LIMIT);
  }

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
    this.statementsReceived = 0;
    this.requests = 0;
  }
}

const FAILURE_CODES: Record<number, string> = {
  429: "REQUEST_LIMIT_EXCEEDED",
  500: "INTERNAL_ERROR",
  502: "BAD_GATEWAY",
  503: "TEMPORARILY_UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** The subject of the request's bearer token, read without verification: faults target callers, they grant nothing. */
function subjectOf(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  if (!m) return undefined;
  try {
    const sub = decodeJwt(m[1]!).sub;
    return typeof sub === "string" ? sub : undefined;
  } catch {
    return undefined;
  }
}

/** Fault injection for tests and benchmarks; rules are consumed in order of registration. */
export class FaultInjector {
  private rules: FaultRule[] = [];
  private readonly stalled = new Set<ServerResponse>();
  private readonly revoked: (() => void)[] = [];
  /** Faults applied so far, by kind (figures for reports). */
  readonly injected = { latency: 0, failures: 0, resets: 0, stalls: 0, statements: 0, revocations: 0 };

  add(rule: FaultRule): void {
    this.rules.push({
      ...rule,
      failures: rule.failures ? { ...rule.failures } : undefined,
      statements: rule.statements ? { ...rule.statements } : undefined,
    });
  }

  /** Drops every rule, releases stalled requests (their sockets close) and restores revoked permissions. */
  clear(): void {
    this.rules = [];
    for (const res of this.stalled) res.destroy();
    this.stalled.clear();
    this.restorePermissions();
  }

  /**
   * Removes every grant of `principal` (a user, group or service principal application id) on the warehouse, as an
   * admin revoking CAN_USE at run time would; the SQL and Genie routes read the same list on every request.
   */
  revokeWarehouseUse(seed: Seed, principal: string, warehouseId = seed.warehouses[0]!.id): void {
    const warehouse = seed.warehouses.find((w) => w.id === warehouseId);
    if (!warehouse) throw new Error(`No warehouse ${warehouseId}`);
    const removed = warehouse.permissions.filter((g) => g.principal === principal);
    warehouse.permissions.splice(
      0,
      warehouse.permissions.length,
      ...warehouse.permissions.filter((g) => !removed.includes(g)),
    );
    this.injected.revocations += 1;
    this.revoked.push(() => warehouse.permissions.push(...removed));
  }

  /** Gives back every grant revoked by revokeWarehouseUse. */
  restorePermissions(): void {
    while (this.revoked.length > 0) this.revoked.pop()!();
  }

  private matches(rule: FaultRule, req: IncomingMessage, pathname: string): boolean {
    if (!pathname.startsWith(rule.pathPrefix)) return false;
    if (rule.method && rule.method !== req.method) return false;
    if (rule.requestId !== undefined && req.headers["x-request-id"] !== rule.requestId) return false;
    if (rule.principal !== undefined && subjectOf(req) !== rule.principal) return false;
    return true;
  }

  /** Applies matching rules; returns true when the request was answered (or dropped, or left hanging) here. */
  async apply(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    for (const rule of this.rules) {
      if (!this.matches(rule, req, pathname)) continue;
      if (rule.latencyMs) {
        this.injected.latency += 1;
        await sleep(rule.latencyMs);
      }
      if (rule.resets && rule.resets > 0) {
        rule.resets -= 1;
        this.injected.resets += 1;
        req.socket.destroy();
        return true;
      }
      if (rule.stalls && rule.stalls > 0) {
        rule.stalls -= 1;
        this.injected.stalls += 1;
        req.resume();
        this.stalled.add(res);
        res.on("close", () => this.stalled.delete(res));
        return true;
      }
      if (rule.failures && rule.failures.count > 0) {
        rule.failures.count -= 1;
        this.injected.failures += 1;
        const { status, retryAfterS, retryAfterDate } = rule.failures;
        const headers: Record<string, string> = {};
        if (retryAfterS !== undefined)
          headers["retry-after"] = retryAfterDate
            ? new Date(Date.now() + retryAfterS * 1000).toUTCString()
            : String(retryAfterS);
        sendJson(
          res,
          status,
          { error_code: FAILURE_CODES[status], message: "Injected fault: the service is unavailable." },
          headers,
        );
        return true;
      }
      if (
        rule.statements &&
        rule.statements.count > 0 &&
        req.method === "POST" &&
        pathname === "/api/2.0/sql/statements"
      ) {
        rule.statements.count -= 1;
        this.injected.statements += 1;
        req.resume();
        const { state, errorCode, message } = rule.statements;
        const error =
          state === "FAILED"
            ? { error_code: errorCode ?? "INTERNAL_ERROR", message: message ?? "Injected fault: the statement failed." }
            : undefined;
        // A terminal statement answered inline, as the Statement Execution API does when it ends within wait_timeout.
        sendJson(res, 200, { statement_id: randomUUID(), status: { state, ...(error ? { error } : {}) } });
        return true;
      }
    }
    return false;
  }
}
