/**
 * Stable error codes an agent (or an operator) can act on. Callers branch on `code`, never on the message.
 * Each has one class in ERROR_CLASSES: its HTTP status, its audit outcome and what to do next.
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

/** How a code reaches the wire and the audit trail, and what the caller should do about it. */
export interface ErrorClass {
  /** HTTP status when the code refuses a request before a tool runs (authentication, authorization, capacity). */
  status: number;
  /** The audit row's outcome when a tool call ends with this code. */
  outcome: "denied" | "failed" | "cancelled";
  /** One line for an agent or an operator: what to do next. */
  advice: string;
}

/** Every code's class, in one table: the HTTP status, the audit outcome and the advice all come from here. */
export const ERROR_CLASSES: Readonly<Record<ErrorCode, ErrorClass>> = {
  UNAUTHENTICATED: { status: 401, outcome: "denied", advice: "Send a bearer token (the 401 names where to get one)." },
  TOKEN_INVALID: { status: 401, outcome: "denied", advice: "Get a new token from a trusted issuer for this server." },
  TOKEN_EXPIRED: { status: 401, outcome: "denied", advice: "Get a new token (sign in again)." },
  ROLE_UNMAPPED: { status: 403, outcome: "denied", advice: "Ask for a token whose role claim names a mapped role." },
  EXCHANGE_POLICY_MISMATCH: {
    status: 403,
    outcome: "denied",
    advice: "The role's service principal does not trust this token's issuer or subject; fix its federation policy.",
  },
  EXCHANGE_FAILED: { status: 503, outcome: "failed", advice: "The workspace did not exchange the token; retry later." },
  PROXY_HEADER_UNTRUSTED: {
    status: 401,
    outcome: "denied",
    advice: "Send the token as a bearer; x-forwarded-access-token is only trusted behind the Databricks Apps proxy.",
  },
  CREDENTIALS_CONFLICT: {
    status: 401,
    outcome: "denied",
    advice: "Send exactly one credential: one Authorization header, or the proxy header alone.",
  },
  TOOL_NOT_ALLOWED: { status: 403, outcome: "denied", advice: "Call tools/list to see the tools you may use." },
  SCOPE_MISSING: { status: 403, outcome: "denied", advice: "Sign in again granting the scopes named in the answer." },
  ACCESS_DENIED: { status: 403, outcome: "denied", advice: "Unity Catalog refused; ask for the grant you need." },
  INVALID_ARGUMENT: { status: 400, outcome: "failed", advice: "Fix the argument named in the message and call again." },
  NOT_FOUND: { status: 404, outcome: "failed", advice: "Check the id or name; start a new conversation if needed." },
  RATE_LIMITED: {
    status: 429,
    outcome: "failed",
    advice:
      "A quota of this server (denied) or the workspace's own limit (failed) is used up; retry after retry_after_s.",
  },
  UPSTREAM_UNAVAILABLE: { status: 503, outcome: "failed", advice: "The workspace is unreachable; retry later." },
  UPSTREAM_ERROR: { status: 502, outcome: "failed", advice: "The workspace answered with an error; retry or report." },
  WAREHOUSE_STARTING: { status: 503, outcome: "failed", advice: "The SQL warehouse is starting; retry in a minute." },
  TIMEOUT: { status: 504, outcome: "failed", advice: "Narrow the request (filters, limit) or retry." },
  CANCELLED: { status: 499, outcome: "cancelled", advice: "The call was cancelled; send it again if still wanted." },
  CIRCUIT_OPEN: {
    status: 503,
    outcome: "failed",
    advice: "This upstream failed repeatedly; other tools still work. Retry later.",
  },
  QUERY_FAILED: { status: 400, outcome: "failed", advice: "Rephrase or narrow the question; check your access." },
  QUERY_RESULT_EXPIRED: { status: 410, outcome: "failed", advice: "Ask again: the result is no longer kept." },
  CONFIG_INVALID: { status: 500, outcome: "failed", advice: "Fix the setting named in the message and restart." },
  AUDIT_UNAVAILABLE: {
    status: 503,
    outcome: "failed",
    advice: "The audit trail cannot take more records; retry after retry_after_s (operators: check the audit table).",
  },
  INTERNAL: { status: 500, outcome: "failed", advice: "Report the request_id; the server recorded the failure." },
};

/** HTTP status for an error raised before a tool runs (authentication and authorization at the transport). */
export function httpStatusFor(code: ErrorCode): number {
  return ERROR_CLASSES[code].status;
}

/** Where a request ended: in a call the dispatcher took, or refused before any tool ran (door, malformed call). */
export type AuditStage = "call" | "before-tool";

/**
 * The audit outcome of a request that ended with `err`: a policy refusal is a denial whatever code it carries, and so
 * is any refusal before a tool ran (its code, e.g. INVALID_ARGUMENT for a malformed call, still names why).
 */
export function auditOutcomeFor(err: GovernedError): ErrorClass["outcome"];
export function auditOutcomeFor(code: string, stage: "before-tool"): ErrorClass["outcome"];
export function auditOutcomeFor(err: GovernedError | string, stage: AuditStage = "call"): ErrorClass["outcome"] {
  if (stage === "before-tool" || typeof err === "string" || err instanceof PolicyError) return "denied";
  return ERROR_CLASSES[err.code].outcome;
}

/** Any thrown value as a GovernedError whose message is safe to return (unknown errors become INTERNAL, text dropped). */
export function asGovernedError(err: unknown): GovernedError {
  if (err instanceof GovernedError) return err;
  if (err instanceof Error && err.name === "AbortError")
    return new GovernedError(ErrorCodes.CANCELLED, "The call was cancelled.");
  return new GovernedError(ErrorCodes.INTERNAL, "The server failed while handling this call; it has been recorded.");
}
