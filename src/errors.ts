/**
 * Stable error codes an agent (or an operator) can act on. Callers branch on `code`, never on the message.
 * Each maps, in one place (toToolError / httpStatusFor), to an MCP tool error and an HTTP status.
 */
export const ErrorCodes = {
  // who are you
  UNAUTHENTICATED: "UNAUTHENTICATED",
  TOKEN_INVALID: "TOKEN_INVALID",
  TOKEN_EXPIRED: "TOKEN_EXPIRED",
  ROLE_UNMAPPED: "ROLE_UNMAPPED",
  EXCHANGE_POLICY_MISMATCH: "EXCHANGE_POLICY_MISMATCH",
  EXCHANGE_FAILED: "EXCHANGE_FAILED",
  PROXY_HEADER_UNTRUSTED: "PROXY_HEADER_UNTRUSTED",
  CREDENTIALS_CONFLICT: "CREDENTIALS_CONFLICT",
  // what can you do
  TOOL_NOT_ALLOWED: "TOOL_NOT_ALLOWED",
  SCOPE_MISSING: "SCOPE_MISSING",
  ACCESS_DENIED: "ACCESS_DENIED",
  // input
  INVALID_ARGUMENT: "INVALID_ARGUMENT",
  NOT_FOUND: "NOT_FOUND",
  // upstream
  RATE_LIMITED: "RATE_LIMITED",
  UPSTREAM_UNAVAILABLE: "UPSTREAM_UNAVAILABLE",
  UPSTREAM_ERROR: "UPSTREAM_ERROR",
  WAREHOUSE_STARTING: "WAREHOUSE_STARTING",
  TIMEOUT: "TIMEOUT",
  CANCELLED: "CANCELLED",
  CIRCUIT_OPEN: "CIRCUIT_OPEN",
  QUERY_FAILED: "QUERY_FAILED",
  QUERY_RESULT_EXPIRED: "QUERY_RESULT_EXPIRED",
  // server
  CONFIG_INVALID: "CONFIG_INVALID",
  AUDIT_UNAVAILABLE: "AUDIT_UNAVAILABLE",
  INTERNAL: "INTERNAL",
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Base of every error this server raises on purpose. `message` is safe to show a caller: no token, no secret. */
export class GovernedError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { retryAfterS?: number; upstreamStatus?: number; hint?: string } = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The caller could not be identified, or its credential could not be turned into a workspace credential. */
export class IdentityError extends GovernedError {}
/** The caller is known but may not do this. */
export class PolicyError extends GovernedError {}
/** The workspace answered with an error, was unreachable, or took too long. */
export class UpstreamError extends GovernedError {}
/** Tool arguments or configuration are wrong. */
export class InputError extends GovernedError {}

/** HTTP status for an error raised before a tool runs (authentication and authorization at the transport). */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case ErrorCodes.UNAUTHENTICATED:
    case ErrorCodes.TOKEN_INVALID:
    case ErrorCodes.TOKEN_EXPIRED:
    case ErrorCodes.PROXY_HEADER_UNTRUSTED:
    case ErrorCodes.CREDENTIALS_CONFLICT:
      return 401;
    case ErrorCodes.ROLE_UNMAPPED:
    case ErrorCodes.EXCHANGE_POLICY_MISMATCH:
    case ErrorCodes.SCOPE_MISSING:
    case ErrorCodes.TOOL_NOT_ALLOWED:
    case ErrorCodes.ACCESS_DENIED:
      return 403;
    case ErrorCodes.RATE_LIMITED:
      return 429;
    case ErrorCodes.EXCHANGE_FAILED:
    case ErrorCodes.UPSTREAM_UNAVAILABLE:
    case ErrorCodes.CIRCUIT_OPEN:
    case ErrorCodes.AUDIT_UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
}

/** Any thrown value as a GovernedError whose message is safe to return (unknown errors become INTERNAL, text dropped). */
export function asGovernedError(err: unknown): GovernedError {
  if (err instanceof GovernedError) return err;
  if (err instanceof Error && err.name === "AbortError")
    return new GovernedError(ErrorCodes.CANCELLED, "The call was cancelled.");
  return new GovernedError(ErrorCodes.INTERNAL, "The server failed while handling this call; it has been recorded.");
}
