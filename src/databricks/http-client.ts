import { outboundTraceHeaders } from "../observability/trace-context.js";
import { Pool } from "undici";
import { afterTime, cancelTimer, systemClock, type Clock, type ClockTimer } from "../clock.js";
import { ErrorCodes, GovernedError, PolicyError, UpstreamError, IdentityError } from "../errors.js";
import type { AccessToken, WorkspaceCredential } from "../identity/types.js";
import { limitWithin, linkedAbort, signalOf, type AbortSource } from "../linked-abort.js";
import { CircuitBreaker, upstreamOf, type CircuitBreakerOptions } from "./circuit-breaker.js";

export interface WorkspaceRequest {
  method: "GET" | "POST" | "DELETE";
  path: string;
  body?: unknown;
  credential: WorkspaceCredential;
  /** The call's cancellation: a signal, or a limit made here, which a request follows without making its signal. */
  signal?: AbortSource;
  /** Epoch ms; no retry is attempted past it, and a response still pending then is abandoned (TIMEOUT). */
  deadline?: number;
  /** Safe to send again after a 5xx or a reset (reads). A 429 is retried for any method: it was not processed. */
  idempotent?: boolean;
  requestId?: string;
}

export interface WorkspaceHttpClientOptions {
  /** Attempts per call, the first included. */
  maxAttempts?: number;
  /** Backoff before retry n is a random wait in [0, min(maxBackoffMs, baseBackoffMs · 2^(n-1))] (full jitter). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** A Retry-After longer than this is not waited for: the caller gets RATE_LIMITED with retry_after_s instead. */
  maxRetryAfterMs?: number;
  /** Bound on one request when the call has no deadline of its own (e.g. the audit writer). */
  requestTimeoutMs?: number;
  circuit?: Partial<CircuitBreakerOptions>;
  /** Observes every upstream answer by API family (status 0: no answer — reset, refused or timed out). Never throws. */
  onUpstreamResponse?(status: number, family: string): void;
  /** Time for deadlines, backoff and Retry-After waits, and the circuits' cooldown (unless `circuit` names its own). */
  clock?: Clock;
}

const DEFAULTS = {
  maxAttempts: 4,
  baseBackoffMs: 100,
  maxBackoffMs: 2000,
  maxRetryAfterMs: 30_000,
  requestTimeoutMs: 30_000,
};

type Attempt =
  | { kind: "answer"; status: number; text: string; retryAfterS?: number }
  | { kind: "unreachable"; code: string }
  | { kind: "timeout" }
  | { kind: "cancelled" };

type ErrorBody = { error_code?: string; message?: string };

/** Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text);
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Maps a Databricks error answer to a stable code with a message that says what to do. */
export function upstreamError(status: number, body: ErrorBody, retryAfterS?: number): GovernedError {
  const detail = `${body.error_code ?? `HTTP ${status}`}: ${(body.message ?? "").slice(0, 300)}`;
  if (status === 401)
    return new IdentityError(
      ErrorCodes.TOKEN_EXPIRED,
      `The workspace refused the credential (${detail}). Sign in again.`,
    );
  if (status === 403 && /scope/i.test(body.message ?? ""))
    return new PolicyError(
      ErrorCodes.SCOPE_MISSING,
      `The workspace requires a scope this credential lacks (${detail}).`,
    );
  if (status === 403)
    return new PolicyError(
      ErrorCodes.ACCESS_DENIED,
      `Permission denied by the workspace (${detail}). Ask an admin for access.`,
    );
  if (status === 404)
    return new UpstreamError(ErrorCodes.NOT_FOUND, `Not found (${detail}). Check the resource name or id.`);
  if (status === 429)
    return new UpstreamError(ErrorCodes.RATE_LIMITED, `The workspace is rate limiting requests (${detail}).`, {
      retryAfterS: retryAfterS ?? 1,
      upstreamStatus: status,
    });
  if (status === 503 || status === 502 || status === 504)
    return new UpstreamError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      `The workspace is temporarily unavailable (${detail}). Try again shortly.`,
      { upstreamStatus: status, retryAfterS },
    );
  if (status === 400)
    return new UpstreamError(ErrorCodes.INVALID_ARGUMENT, `The workspace rejected the request (${detail}).`, {
      upstreamStatus: status,
    });
  return new UpstreamError(ErrorCodes.UPSTREAM_ERROR, `The workspace answered ${status} (${detail}).`, {
    upstreamStatus: status,
  });
}

function parseErrorBody(text: string): ErrorBody {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === "object" ? (parsed as ErrorBody) : {};
  } catch {
    return {}; // not JSON (a proxy's HTML page): the status alone decides
  }
}

const cancelled = () => new GovernedError(ErrorCodes.CANCELLED, "The call was cancelled.");
const timedOut = (family: string) =>
  new UpstreamError(ErrorCodes.TIMEOUT, `The workspace (${family}) did not answer within the call's deadline.`);

/**
 * One keep-alive connection pool per process to the workspace host; every request carries the caller's own token.
 * Retries only what is safe to repeat, with bounded full-jitter backoff inside the call's deadline, honours
 * Retry-After, and keeps one circuit per upstream so a failing API fails only the tools that use it.
 */
export class WorkspaceHttpClient {
  /** Bound to the one origin this client talks to: no URL to parse and no origin to look up per request. */
  private readonly pool: Pool;
  private readonly options: typeof DEFAULTS & WorkspaceHttpClientOptions;
  readonly breaker: CircuitBreaker;
  /** The clock a call's `deadline` is read on. */
  readonly clock: Clock;

  constructor(
    readonly host: string,
    options: WorkspaceHttpClientOptions = {},
  ) {
    this.pool = new Pool(host, { keepAliveTimeout: 30_000, connections: 128 });
    this.options = { ...DEFAULTS, ...options };
    this.clock = options.clock ?? systemClock;
    this.breaker = new CircuitBreaker({ ...options.circuit, clock: options.circuit?.clock ?? this.clock });
  }

  async request<T>(req: WorkspaceRequest): Promise<T> {
    const { family, resource } = upstreamOf(req.path);
    const circuitKey = JSON.stringify([this.host, family, resource]);
    let refreshed = false;
    // The token fetched after a 401, sent on the next attempt as it is.
    let renewed: AccessToken | undefined;
    for (let attempt = 1; ; attempt += 1) {
      if (req.signal?.aborted) throw cancelled();
      if (req.deadline !== undefined && this.clock.now() >= req.deadline) throw timedOut(family);
      const token = renewed ?? (await this.tokenWithin(req, family));
      renewed = undefined;
      this.breaker.admit(circuitKey, family);
      const outcome = await this.send(req, token);
      // A call its own caller abandoned says nothing about the upstream: it is not observed.
      if (outcome.kind !== "cancelled") this.observe(outcome.kind === "answer" ? outcome.status : 0, family);

      if (outcome.kind === "cancelled") {
        this.breaker.neutral(circuitKey);
        throw cancelled();
      }
      if (outcome.kind === "timeout" || outcome.kind === "unreachable") {
        this.breaker.failure(circuitKey);
        // A stalled answer used the call's whole budget: nothing is left to retry with.
        if (outcome.kind === "timeout") throw timedOut(family);
        if (req.idempotent && attempt < this.options.maxAttempts && (await this.backoff(attempt, undefined, req)))
          continue;
        throw new UpstreamError(
          ErrorCodes.UPSTREAM_UNAVAILABLE,
          `The workspace could not be reached (${family}: ${outcome.code}). Try again shortly.`,
        );
      }

      const { status, text, retryAfterS } = outcome;
      if (status >= 500) this.breaker.failure(circuitKey);
      else if (status >= 200 && status < 300) this.breaker.success(circuitKey);
      else this.breaker.neutral(circuitKey);

      if (status >= 200 && status < 300) {
        if (!text) return {} as T;
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new UpstreamError(ErrorCodes.UPSTREAM_ERROR, `The workspace (${family}) answered with invalid JSON.`);
        }
      }
      if (status === 401 && !refreshed) {
        // The cached token may have been revoked or expired early: evict it and try once more.
        refreshed = true;
        renewed = await this.tokenWithin(req, family, true);
        attempt -= 1;
        continue;
      }
      const retryable = status === 429 || status === 503 || status === 502 || status === 504;
      if (
        retryable &&
        (req.idempotent || status === 429) &&
        attempt < this.options.maxAttempts &&
        (await this.backoff(attempt, retryAfterS, req))
      )
        continue;
      throw upstreamError(status, parseErrorBody(text), retryAfterS);
    }
  }

  /** The caller's token, without waiting past the call's deadline or cancellation for a slow token endpoint. */
  private async tokenWithin(req: WorkspaceRequest, family: string, forceRefresh = false): Promise<AccessToken> {
    // A token already in hand needs no bounds: there is nothing to wait for.
    const ready = forceRefresh ? undefined : req.credential.current?.();
    if (ready) return ready;
    const signal = signalOf(req.signal);
    const pending = req.credential.token({ signal, ...(forceRefresh ? { forceRefresh } : {}) });
    if (req.deadline === undefined && !signal) return pending;
    pending.catch(() => undefined); // abandoned on timeout: its later failure must not go unhandled
    let timer: ClockTimer | undefined;
    let onAbort: (() => void) | undefined;
    const bounds = new Promise<never>((_, reject) => {
      if (req.deadline !== undefined)
        timer = afterTime(this.clock, req.deadline - this.clock.now(), () => reject(timedOut(family)));
      if (signal) {
        onAbort = () => reject(cancelled());
        signal.addEventListener("abort", onAbort, { once: true });
      }
    });
    try {
      return await Promise.race([pending, bounds]);
    } finally {
      cancelTimer(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  }

  /** One HTTP exchange, bounded by the caller's signal and the call's deadline (or the default request timeout). */
  private async send(req: WorkspaceRequest, token: AccessToken): Promise<Attempt> {
    const budget = req.deadline !== undefined ? req.deadline - this.clock.now() : this.options.requestTimeoutMs;
    if (budget <= 0) return { kind: "timeout" };
    // Within its call's limit (a tool's request, which carries that limit's end as its deadline), a request is bounded
    // by it as it is; otherwise by a limit of its own.
    const within = limitWithin(req.signal, this.clock.now() + budget, this.clock);
    const own = within ? undefined : linkedAbort([req.signal], budget, this.clock);
    const limit = within ?? own!;
    try {
      const res = await this.pool.request({
        path: req.path,
        method: req.method,
        // The limit itself, which undici follows as an EventEmitter: no AbortSignal is made for a request.
        signal: limit.emitter,
        headers: {
          authorization: `Bearer ${token.accessToken}`,
          "content-type": "application/json",
          "user-agent": "databricks-governed-mcp/0.1.0",
          ...(req.requestId ? { "x-request-id": req.requestId } : {}),
          ...outboundTraceHeaders(),
        },
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
      });
      const header = res.headers["retry-after"];
      const text = await res.body.text();
      return {
        kind: "answer",
        status: res.statusCode,
        text,
        retryAfterS: typeof header === "string" ? parseRetryAfter(header, this.clock.now()) : undefined,
      };
    } catch (err) {
      // A time limit first: the call's own, on which this request may wait rather than arm a timer of its own.
      if (limit.timedOut) return { kind: "timeout" };
      if (req.signal?.aborted) return { kind: "cancelled" };
      return { kind: "unreachable", code: String((err as { code?: string }).code ?? "network error").slice(0, 40) };
    } finally {
      own?.dispose();
    }
  }

  /** Waits before the next attempt (Retry-After when given, else full jitter); false when the deadline leaves no room. */
  private async backoff(attempt: number, retryAfterS: number | undefined, req: WorkspaceRequest): Promise<boolean> {
    const cap = Math.min(this.options.maxBackoffMs, this.options.baseBackoffMs * 2 ** (attempt - 1));
    const wait = retryAfterS !== undefined ? retryAfterS * 1000 : Math.random() * cap;
    if (retryAfterS !== undefined && wait > this.options.maxRetryAfterMs) return false;
    if (req.deadline !== undefined && this.clock.now() + wait >= req.deadline) return false;
    try {
      await this.clock.sleep(wait, signalOf(req.signal));
    } catch {
      throw cancelled();
    }
    return true;
  }

  private observe(status: number, family: string): void {
    try {
      this.options.onUpstreamResponse?.(status, family);
    } catch {
      // An observer (metrics) must never change the outcome of a call.
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
