import { auditOutcomeFor, type GovernedError } from "../errors.js";
import type { CallerIdentity } from "../identity/types.js";
import { withQuotaLimit } from "../quota/quota-gate.js";
import { withVerifiedIssuer } from "./issuer-in-arguments.js";

/** `unknown`: the call reached the workspace and the process died before its outcome was spooled. */
export type AuditOutcome = "allowed" | "denied" | "failed" | "cancelled" | "unknown";

/** One row of the audit trail, before the trail stamps it with an id and time. */
export interface AuditEntry {
  requestId: string;
  mode: string;
  credentialSource: string;
  human?: string;
  workspacePrincipal?: string;
  role?: string;
  tool: string;
  arguments: unknown;
  outcome: AuditOutcome;
  errorCode?: string;
  rowsReturned?: number;
  latencyMs: number;
  statementIds: string[];
}

/** Who asks for what, spooled before a call reaches the workspace. */
export type AuditIntent = Omit<AuditEntry, "outcome" | "errorCode" | "rowsReturned" | "latencyMs" | "statementIds">;

/** What a request asked for, as its audit row names it. */
export interface AuditedRequest {
  requestId: string;
  tool: string;
  arguments: unknown;
  /** How the credential came, when no identity was verified (`bearer`, `proxy-header`, `none`). */
  credentialSource?: string;
}

/** What a call that ran measured: its rows, its time and the statements it caused. */
export interface CallMeasures {
  rowsReturned?: number;
  latencyMs: number;
  statementIds: string[];
}

/**
 * Who asks for what: the verified identity's columns (or `unresolved` when nobody was verified) and the arguments,
 * with the verified Federation issuer beside them.
 */
export function auditIntent(request: AuditedRequest, identity?: CallerIdentity): AuditIntent {
  return {
    requestId: request.requestId,
    mode: identity?.mode ?? "unresolved",
    credentialSource: identity?.source ?? request.credentialSource ?? "none",
    human: identity?.human,
    workspacePrincipal: identity?.expectedPrincipal,
    role: identity?.role,
    tool: request.tool,
    arguments: withVerifiedIssuer(request.arguments, identity),
  };
}

/**
 * The row of a call that reached the dispatcher: allowed, or ended by `failure`, whose code's class names the outcome
 * (a quota's refusal names the limit that fired beside the arguments).
 */
export function finishedCall(
  intent: AuditIntent,
  failure: GovernedError | undefined,
  measures: CallMeasures,
): AuditEntry {
  return {
    ...intent,
    arguments: withQuotaLimit(intent.arguments, failure),
    outcome: failure ? auditOutcomeFor(failure) : "allowed",
    errorCode: failure?.code,
    rowsReturned: measures.rowsReturned,
    latencyMs: measures.latencyMs,
    statementIds: measures.statementIds,
  };
}

/**
 * The row of a request refused before any tool ran (at the door, or as a malformed call), by an error or its code: no
 * time, no statement (a quota's refusal names the limit that fired beside the arguments).
 */
export function refusedBeforeTool(intent: AuditIntent, refusal: GovernedError | string): AuditEntry {
  const code = typeof refusal === "string" ? refusal : refusal.code;
  return {
    ...intent,
    arguments: withQuotaLimit(intent.arguments, refusal),
    outcome: auditOutcomeFor(code, "before-tool"),
    errorCode: code,
    latencyMs: 0,
    statementIds: [],
  };
}
