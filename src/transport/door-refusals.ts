import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { ErrorCodes, httpStatusFor, type ErrorCode, type GovernedError } from "../errors.js";
import type { ResolvedCaller } from "../identity/types.js";
import type { AuditSink } from "../mcp/tool-dispatcher.js";
import { jsonRpcError, sendJson } from "./json-answers.js";
import { isPlainObject } from "../mcp/malformed-calls.js";
import type { ProtocolRefusal } from "./post-transport.js";
import { refusalRowsOf } from "./refusal-rows.js";
import { logDoorRefusal } from "./refusal-log.js";
import { auditIntent, refusedBeforeTool } from "../audit/audit-entry.js";

/** A POST refused before any of its messages reaches a protocol server: the request, its answer and its body. */
export interface DoorRequest {
  req: IncomingMessage;
  res: ServerResponse;
  body: unknown;
}

export interface DoorRefusalsOptions {
  audit: AuditSink;
  logger: Logger;
  /** The protected-resource metadata (RFC 9728) every challenge points to. */
  metadataUrl: string;
  /** Scopes a client should ask the first authorization server for, named in the 401 challenge (MCP SEP-835). */
  challengeScopes?: readonly string[];
}

/**
 * The error data of a refusal: its code and the request ids of its audit rows, `request_id` the first and, when the
 * refusal left several (a batch of calls), `request_ids` one per tools/call in the order of the batch.
 */
function errorData(code: string, requestIds: readonly string[]): Record<string, unknown> {
  return { error_code: code, request_id: requestIds[0], ...(requestIds.length > 1 ? { request_ids: requestIds } : {}) };
}

/**
 * Refusals at the door of the MCP endpoint: each is answered, and audited with one row per tools/call it refuses (one
 * for a request carrying none), under our own request ids, which the answer names.
 */
export class DoorRefusals {
  constructor(private readonly options: DoorRefusalsOptions) {}

  /** The RFC 6750 challenge (MCP authorization): where to find the metadata, and what was wrong with the token. */
  challenge(err: GovernedError, scopes: readonly string[] = []): Record<string, string> {
    const status = httpStatusFor(err.code);
    const parts = [`resource_metadata="${this.options.metadataUrl}"`];
    if (err.code === ErrorCodes.SCOPE_MISSING)
      parts.unshift(`error="insufficient_scope"`, ...(scopes.length ? [`scope="${scopes.join(" ")}"`] : []));
    else if (status === 401 && err.code !== ErrorCodes.UNAUTHENTICATED)
      parts.unshift(`error="invalid_token"`, `error_description="${err.code}"`);
    const { challengeScopes } = this.options;
    if (status === 401 && challengeScopes?.length) parts.push(`scope="${challengeScopes.join(" ")}"`);
    return { "www-authenticate": `Bearer ${parts.join(", ")}` };
  }

  /** An authentication or authorization refusal: its HTTP status and RFC 6750 challenge. */
  async refuseCaller(
    at: DoorRequest,
    governed: GovernedError,
    caller?: ResolvedCaller,
    scopes: readonly string[] = [],
  ): Promise<void> {
    const status = httpStatusFor(governed.code);
    const requestIds = await this.audit(at, governed, caller);
    logDoorRefusal(this.options.logger, { req: at.req, status, code: governed.code, requestIds, caller });
    // The status is the code's own (src/errors.ts); only 401 and 403 carry the RFC 6750 challenge.
    const retry = governed.details.retryAfterS;
    const headers =
      status === 401 || status === 403
        ? this.challenge(governed, scopes)
        : retry !== undefined
          ? { "retry-after": String(retry) }
          : {};
    jsonRpcError(
      at.res,
      status,
      -32001,
      `[${governed.code}] ${governed.message}`,
      headers,
      errorData(governed.code, requestIds),
    );
  }

  /** A POST a protocol rule refuses (its version, headers or batch shape), sent by a verified caller. */
  async refuseRequest(at: DoorRequest, refusal: ProtocolRefusal, caller: ResolvedCaller): Promise<void> {
    const requestIds = await this.audit(at, ErrorCodes.INVALID_ARGUMENT, caller);
    const { status, code, message } = refusal;
    jsonRpcError(at.res, status, code, message, {}, errorData(ErrorCodes.INVALID_ARGUMENT, requestIds));
  }

  /**
   * A refusal the MCP SDK answered itself (a 2026-07-28 validation rule: a header naming another method or tool than
   * the body, an unsupported revision): audited like any other, its answer kept, with our request ids added.
   */
  async refuseAnswered(at: DoorRequest, status: number, answer: unknown, caller: ResolvedCaller): Promise<void> {
    const requestIds = await this.audit(at, ErrorCodes.INVALID_ARGUMENT, caller);
    const body = isPlainObject(answer) ? answer : { jsonrpc: "2.0", id: null, error: { code: -32600, message: "" } };
    const error = isPlainObject(body.error) ? body.error : {};
    const data = {
      ...(isPlainObject(error.data) ? error.data : {}),
      ...errorData(ErrorCodes.INVALID_ARGUMENT, requestIds),
    };
    sendJson(at.res, status, { ...body, error: { ...error, data } });
  }

  /** Audits every row of a refusal, durably before its answer; resolves to their request ids, in order. */
  private async audit(
    { req, body }: DoorRequest,
    refusal: GovernedError | ErrorCode,
    caller?: ResolvedCaller,
  ): Promise<string[]> {
    const { audit, logger } = this.options;
    const code = typeof refusal === "string" ? refusal : refusal.code;
    const { identity } = caller ?? {};
    // How the credential came, for a row whose caller was not verified.
    const credentialSource = req.headers["x-forwarded-access-token"]
      ? "proxy-header"
      : req.headers.authorization
        ? "bearer"
        : "none";
    const rows = refusalRowsOf(body);
    // Nobody verified: folded per source address, code and minute, so anonymous traffic cannot fill the spool.
    if (!caller && audit.refuseUnverified) {
      const refuseUnverified = audit.refuseUnverified.bind(audit);
      const source = req.socket.remoteAddress;
      return Promise.all(rows.map((row) => refuseUnverified({ source, code, tool: row.tool, credentialSource })));
    }
    return Promise.all(
      rows.map(async (row) => {
        // Always our own id: a client-chosen x-request-id could collide with, or impersonate, another row.
        const requestId = randomUUID();
        const intent = auditIntent({ requestId, tool: row.tool, arguments: row.arguments, credentialSource }, identity);
        await audit
          .record(refusedBeforeTool(intent, refusal))
          .catch((auditErr: unknown) => logger.error({ err: auditErr }, "audit of a refused request failed"));
        return requestId;
      }),
    );
  }
}
