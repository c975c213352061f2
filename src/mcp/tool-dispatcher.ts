import { randomUUID } from "node:crypto";
import type { CallToolResult, ServerNotification } from "@modelcontextprotocol/server";
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { ErrorCodes, GovernedError, InputError, asGovernedError } from "../errors.js";
import type { ResolvedCaller } from "../identity/types.js";
import type { ToolPolicy } from "../policy/tool-policy.js";
import type { WorkspaceApi } from "../databricks/workspace-api.js";
import type { WorkspaceViewCache } from "../identity/workspace-view-cache.js";
import type { ToolContext } from "../../tools/types.js";
import { endToolSpan, startToolSpan } from "../observability/tracing.js";
import { linkedAbort, type AbortSource } from "../linked-abort.js";
import type { UnverifiedRefusal } from "../audit/refusal-aggregator.js";
import { systemClock, type Clock } from "../clock.js";
import type { ConversationHandles } from "../policy/conversation-handle.js";
import { auditIntent, finishedCall, type AuditEntry, type AuditIntent } from "../audit/audit-entry.js";
import { withinQuota, type QuotaGate } from "../quota/quota-gate.js";

// Re-exported beside the sink that takes it, for code that names both.
export type { AuditEntry, AuditIntent, AuditOutcome } from "../audit/audit-entry.js";

/** Durable: resolves once no crash can lose the entry (docs/operations.md), before the call's result is sent. */
export interface AuditSink {
  record(entry: AuditEntry): Promise<void>;
  /** Spools the intent of a call about to reach the workspace; its `record` then completes it. */
  begin?(intent: AuditIntent): void;
  /** False when a new call may not start because its record could not be kept (the spool is full). */
  admit?(call: { requestId: string; tool: string }): boolean;
  /** Records a refusal at the door without a verified identity (folded per source); resolves to its request id. */
  refuseUnverified?(refusal: UnverifiedRefusal): Promise<string>;
}

export interface CallExtra {
  /** The call's cancellation: a signal, or a limit made by `linkedAbort`, followed without making its signal. */
  signal: AbortSource;
  progressToken?: string | number;
  sendNotification(notification: ServerNotification): Promise<void>;
}

export interface DispatcherDeps {
  config: Config;
  /** Who sees and may call which tool (the catalog it holds is the one tools/list shows). */
  policy: ToolPolicy;
  audit: AuditSink;
  logger: Logger;
  /** The caller's own Databricks client for this call (never a shared one). */
  workspaceFor(
    caller: ResolvedCaller,
    tool: string,
    requestId: string,
    recordStatement: (id: string) => void,
  ): WorkspaceApi;
  /** What the workspace said about each token lately, shared by every call of the process. */
  workspaceViews: WorkspaceViewCache;
  /** Observes each finished call (metrics). */
  onCallFinished?(entry: AuditEntry): void;
  /** Signs the Genie conversation handles of every caller (one key per deployment). */
  conversationHandles: ConversationHandles;
  /** Time for tools' deadlines and waits; the system clock unless a test gives another. */
  clock?: Clock;
  /** Quotas per caller, tool and upstream (docs/quotas.md); none when absent. */
  quota?: QuotaGate;
}

/** A tool's deadline when its definition names none. */
const DEFAULT_TIMEOUT_MS = 60_000;

/** An MCP tool error result: `isError`, a stable code first, what to do next; never a stack or a token. */
export function toolError(err: GovernedError): CallToolResult {
  const retry = err.details.retryAfterS !== undefined ? ` Retry after ${err.details.retryAfterS} s.` : "";
  const hint = err.details.hint ? ` ${err.details.hint}` : "";
  return {
    isError: true,
    content: [{ type: "text", text: `[${err.code}] ${err.message}${retry}${hint}` }],
    _meta: {
      error_code: err.code,
      ...(err.details.retryAfterS !== undefined ? { retry_after_s: err.details.retryAfterS } : {}),
    },
  };
}

/** The answer to a call refused because the audit trail cannot keep its record; it names the request id logged. */
function auditUnavailable(requestId: string): CallToolResult {
  const result = toolError(
    new GovernedError(ErrorCodes.AUDIT_UNAVAILABLE, "The audit trail is full, so no call can be answered now.", {
      retryAfterS: 30,
      hint: "The server is waiting for its audit table; retry later.",
    }),
  );
  result._meta = { ...result._meta, request_id: requestId };
  return result;
}

/** Runs one `tools/call`: RBAC, scopes, argument validation, deadline, handler — and exactly one audit record. */
export async function dispatchToolCall(
  deps: DispatcherDeps,
  caller: ResolvedCaller,
  name: string,
  args: unknown,
  extra: CallExtra,
): Promise<CallToolResult> {
  const started = performance.now();
  const requestId = randomUUID();
  // Admission: with the audit spool full, refuse before any work rather than answer unaudited.
  if (deps.audit.admit && !deps.audit.admit({ requestId, tool: String(name) })) return auditUnavailable(requestId);
  const span = startToolSpan(name, requestId);
  const statementIds: string[] = [];
  const { identity } = caller;
  let rowsReturned: number | undefined;
  let result: CallToolResult;
  let failure: GovernedError | undefined;
  const intent = auditIntent({ requestId, tool: String(name).slice(0, 128), arguments: args }, identity);

  try {
    const entry = deps.policy.authorize(identity, String(name));
    const parsed = entry.input.safeParse(args ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InputError(
        ErrorCodes.INVALID_ARGUMENT,
        `Invalid argument ${issue.path.join(".") || "(arguments)"}: ${issue.message}`,
      );
    }
    const timeoutMs = entry.definition.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // The deadline, its timer and the tool's waits read one clock, so a test that moves it moves all three.
    const clock = deps.clock ?? systemClock;
    const limit = linkedAbort([extra.signal], timeoutMs, clock);
    // The tool's deadline is its limit's end, to the millisecond: requests bounded by it wait on this one timer.
    const { endsAt: deadline } = limit;
    const recordStatement = (id: string) => void (statementIds.includes(id) || statementIds.push(id));
    const ctx: ToolContext = {
      caller,
      allowedTools: deps.policy.allowed(identity),
      workspace: deps.workspaceFor(caller, entry.definition.name, requestId, recordStatement),
      requestId,
      workspaceViews: deps.workspaceViews,
      // The limit as it is: the tool's workspace requests follow it without an AbortSignal made.
      signal: limit,
      deadline,
      clock,
      conversationHandles: deps.conversationHandles,
      recordStatement,
      reportProgress: async (progress, message, total) => {
        if (extra.progressToken === undefined || limit.aborted) return;
        await extra
          .sendNotification({
            method: "notifications/progress",
            params: { progressToken: extra.progressToken, progress, total, message },
          })
          .catch(() => undefined);
      },
    };
    try {
      // Only a call its quotas admit reaches the workspace, so only such a call has an intent to spool.
      const out = await withinQuota(deps.quota, identity, { tool: entry.definition.name, timeoutMs }, () => {
        deps.audit.begin?.(intent);
        return entry.definition.handler(parsed.data as never, ctx);
      });
      rowsReturned = out.rowsReturned;
      result = {
        content: [{ type: "text", text: out.text }],
        structuredContent: out.structured as Record<string, unknown>,
      };
    } catch (err) {
      // A more precise cause found by the handler (e.g. the warehouse never started) beats a bare timeout.
      if (
        err instanceof GovernedError &&
        (err.code === ErrorCodes.WAREHOUSE_STARTING || err.code === ErrorCodes.TIMEOUT)
      )
        throw err;
      if (limit.timedOut && !extra.signal.aborted)
        throw new GovernedError(ErrorCodes.TIMEOUT, `${entry.definition.name} did not finish within ${timeoutMs} ms.`);
      if (extra.signal.aborted) throw new GovernedError(ErrorCodes.CANCELLED, "The call was cancelled by the client.");
      throw err;
    } finally {
      limit.dispose();
    }
  } catch (err) {
    failure = asGovernedError(err);
    if (failure.code === ErrorCodes.INTERNAL)
      deps.logger.error({ requestId, tool: name, err }, "tool call failed unexpectedly");
    result = toolError(failure);
  }

  const entry = finishedCall(intent, failure, {
    rowsReturned,
    latencyMs: Math.round(performance.now() - started),
    statementIds,
  });
  // The request id lets an agent or an operator find this call's audit row and the statements it caused.
  result._meta = { ...result._meta, request_id: requestId };
  // The result is sent only once its audit record survives a crash of the process, and its intent a loss of power.
  await deps.audit.record(entry);
  endToolSpan(span, entry);
  deps.onCallFinished?.(entry);
  deps.logger.info(
    {
      requestId,
      tool: entry.tool,
      outcome: entry.outcome,
      errorCode: entry.errorCode,
      mode: entry.mode,
      latencyMs: entry.latencyMs,
    },
    "tool call",
  );
  return result;
}
