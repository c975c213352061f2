import type { CustomFetch } from "openid-client";
import { ErrorCodes, IdentityError } from "../errors.js";

/** A token endpoint's JSON answer, as far as this server reads it (any field may be missing or of another type). */
export interface TokenAnswer {
  access_token?: unknown;
  refresh_token?: unknown;
  expires_in?: unknown;
  scope?: unknown;
  error?: unknown;
  error_codes?: unknown;
}

/**
 * POSTs one token request form (never following a redirect, 30 s at most) and reads its JSON answer; a missing or
 * unreadable body reads as empty. An endpoint that cannot be reached is EXCHANGE_FAILED, saying `unreachable`.
 */
export async function postTokenForm(
  endpoint: string,
  params: Record<string, string>,
  options: { unreachable: string; headers?: Record<string, string>; fetch?: CustomFetch },
): Promise<{ status: number; body: TokenAnswer }> {
  let res: Response;
  try {
    res = await (options.fetch ?? (fetch as CustomFetch))(endpoint, {
      method: "POST",
      headers: { ...options.headers, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams(params),
      redirect: "manual",
      signal: AbortSignal.timeout(30_000),
    });
  } catch {
    throw new IdentityError(ErrorCodes.EXCHANGE_FAILED, options.unreachable);
  }
  return { status: res.status, body: (await res.json().catch(() => ({}))) as TokenAnswer };
}

/** The OAuth error code a refusal names (bounded, as it goes into messages), or its HTTP status when it names none. */
export function tokenErrorOf(status: number, body: TokenAnswer): string {
  return typeof body.error === "string" ? body.error.slice(0, 64) : `HTTP ${status}`;
}
