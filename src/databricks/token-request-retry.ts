import type { CustomFetch } from "openid-client";
import { systemClock, type Clock } from "../clock.js";
import { parseRetryAfter } from "./http-client.js";

/** Grants that may be sent again: repeating them only mints another token. An authorization code is single-use. */
const REPEATABLE_GRANTS = new Set(["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"]);
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

export interface TokenRetryOptions {
  maxAttempts?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** A longer Retry-After is not waited for: the answer goes back to the caller. */
  maxRetryAfterMs?: number;
  /** Time the backoff and Retry-After waits run on. */
  clock?: Clock;
}

function grantOf(body: unknown): string | undefined {
  if (body instanceof URLSearchParams) return body.get("grant_type") ?? undefined;
  if (typeof body === "string") return new URLSearchParams(body).get("grant_type") ?? undefined;
  return undefined;
}

/**
 * A fetch for OAuth token requests (openid-client's `customFetch`): client-credentials and token-exchange requests
 * are retried after a reset, a 429 or a 502/503/504, with full-jitter backoff and Retry-After honoured; any other
 * request (an authorization code, a refresh) goes out exactly once.
 */
export function tokenRequestFetch(options: TokenRetryOptions = {}): CustomFetch {
  const {
    maxAttempts = 3,
    baseBackoffMs = 100,
    maxBackoffMs = 1000,
    maxRetryAfterMs = 5000,
    clock = systemClock,
  } = options;
  return async (url, init) => {
    const repeatable = REPEATABLE_GRANTS.has(grantOf(init.body) ?? "");
    for (let attempt = 1; ; attempt += 1) {
      const last = !repeatable || attempt >= maxAttempts;
      let wait: number;
      try {
        const res = await fetch(url, init as RequestInit);
        if (last || !RETRYABLE_STATUS.has(res.status)) return res;
        const retryAfterS = parseRetryAfter(res.headers.get("retry-after") ?? undefined, clock.now());
        if (retryAfterS !== undefined && retryAfterS * 1000 > maxRetryAfterMs) return res;
        await res.body?.cancel().catch(() => undefined);
        wait =
          retryAfterS !== undefined
            ? retryAfterS * 1000
            : Math.random() * Math.min(maxBackoffMs, baseBackoffMs * 2 ** (attempt - 1));
      } catch (err) {
        if (last || init.signal?.aborted) throw err;
        wait = Math.random() * Math.min(maxBackoffMs, baseBackoffMs * 2 ** (attempt - 1));
      }
      await clock.sleep(wait, init.signal ?? undefined);
    }
  };
}
