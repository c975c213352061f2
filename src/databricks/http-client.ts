import { setTimeout as sleep } from "node:timers/promises";
import { Agent, request } from "undici";
import { ErrorCodes, GovernedError, PolicyError, UpstreamError, IdentityError } from "../errors.js";
import type { WorkspaceCredential } from "../identity/types.js";

export interface WorkspaceRequest {
  method: "GET" | "POST" | "DELETE";
  path: string;
  body?: unknown;
  credential: WorkspaceCredential;
  signal?: AbortSignal;
  /** Epoch ms; no retry is attempted past it. */
  deadline?: number;
  /** Safe to send again after a 429/503/reset (reads). */
  idempotent?: boolean;
  requestId?: string;
}

const MAX_ATTEMPTS = 4;

/** Maps a Databricks error answer to a stable code with a message that says what to do. */
export function upstreamError(
  status: number,
  body: { error_code?: string; message?: string },
  retryAfterS?: number,
): GovernedError {
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

/** One keep-alive connection pool per process to the workspace host; every request carries the caller's own token. */
export class WorkspaceHttpClient {
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 128 });

  constructor(readonly host: string) {}

  async request<T>(req: WorkspaceRequest): Promise<T> {
    let refreshed = false;
    for (let attempt = 1; ; attempt += 1) {
      if (req.signal?.aborted) throw new GovernedError(ErrorCodes.CANCELLED, "The call was cancelled.");
      const token = await req.credential.token({ signal: req.signal });
      let status: number;
      let text: string;
      let retryAfter: string | undefined;
      try {
        const res = await request(`${this.host}${req.path}`, {
          method: req.method,
          dispatcher: this.agent,
          signal: req.signal,
          headers: {
            authorization: `Bearer ${token.accessToken}`,
            "content-type": "application/json",
            "user-agent": "databricks-governed-mcp/0.1.0",
            ...(req.requestId ? { "x-request-id": req.requestId } : {}),
          },
          body: req.body === undefined ? undefined : JSON.stringify(req.body),
        });
        status = res.statusCode;
        retryAfter = typeof res.headers["retry-after"] === "string" ? res.headers["retry-after"] : undefined;
        text = await res.body.text();
      } catch (err) {
        if (req.signal?.aborted) throw new GovernedError(ErrorCodes.CANCELLED, "The call was cancelled.");
        if (req.idempotent && attempt < MAX_ATTEMPTS && (await this.backoff(attempt, undefined, req.deadline)))
          continue;
        throw new UpstreamError(
          ErrorCodes.UPSTREAM_UNAVAILABLE,
          `The workspace could not be reached (${(err as { code?: string }).code ?? "network error"}).`,
        );
      }
      if (status >= 200 && status < 300) return (text ? JSON.parse(text) : {}) as T;
      let body: { error_code?: string; message?: string } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // Not JSON (a proxy's HTML page): the status alone decides.
      }
      if (status === 401 && !refreshed) {
        // The cached token may have been revoked or expired early: evict it and try once more.
        refreshed = true;
        await req.credential.token({ forceRefresh: true, signal: req.signal });
        continue;
      }
      const retryAfterS = retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
      const retryable = status === 429 || status === 503 || status === 502 || status === 504;
      if (
        retryable &&
        (req.idempotent || status === 429) &&
        attempt < MAX_ATTEMPTS &&
        (await this.backoff(attempt, retryAfterS, req.deadline))
      )
        continue;
      throw upstreamError(status, body, retryAfterS);
    }
  }

  /** Exponential backoff with full jitter, honouring Retry-After; false when the deadline leaves no room. */
  private async backoff(attempt: number, retryAfterS: number | undefined, deadline?: number): Promise<boolean> {
    const base = Math.min(2000, 100 * 2 ** (attempt - 1));
    const wait = retryAfterS !== undefined ? retryAfterS * 1000 : Math.random() * base;
    if (deadline !== undefined && Date.now() + wait >= deadline) return false;
    await sleep(wait);
    return true;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
