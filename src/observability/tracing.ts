import { SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import type { AuditEntry } from "../audit/audit-entry.js";
import { activateSpan } from "./trace-context.js";

const TRACER_NAME = "databricks-governed-mcp";

/**
 * Opens the span of one tool call. Without a registered tracer provider the API hands out a no-op span, so tracing
 * costs nothing until an OpenTelemetry SDK is installed. The request id is the one in the audit row and in the
 * x-request-id sent to the workspace.
 */
export function startToolSpan(tool: string, requestId: string): Span {
  const span = trace.getTracer(TRACER_NAME).startSpan(`tools/call ${String(tool).slice(0, 64)}`, {
    kind: SpanKind.SERVER,
    attributes: {
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": String(tool).slice(0, 128),
      "mcp.request_id": requestId,
    },
  });
  // The call's own requests to the workspace carry this span as their parent (traceparent).
  activateSpan(span);
  return span;
}

/** Closes the span with what the audit row says: outcome, mode, error code, rows (never arguments or a person). */
export function endToolSpan(span: Span, entry: AuditEntry): void {
  span.setAttributes({
    "mcp.outcome": entry.outcome,
    "mcp.credential.mode": entry.mode,
    "mcp.statement_count": entry.statementIds.length,
    ...(entry.errorCode ? { "error.type": entry.errorCode } : {}),
    ...(entry.rowsReturned !== undefined ? { "mcp.rows_returned": entry.rowsReturned } : {}),
  });
  if (entry.outcome !== "allowed") span.setStatus({ code: SpanStatusCode.ERROR, message: entry.errorCode });
  span.end();
}
