import { randomUUID } from "node:crypto";
import type { Transport } from "@modelcontextprotocol/server";
import { ProtocolErrorCode, type JSONRPCMessage, type Server } from "@modelcontextprotocol/server";
// The shape of a 2025-11-25 tools/call, which the 2026-07-28 one extends only in _meta.
import { CallToolRequestSchema, JSONRPCRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import { ErrorCodes } from "../errors.js";
import type { ResolvedCaller } from "../identity/types.js";
import type { AuditSink } from "./tool-dispatcher.js";
import { auditIntent, refusedBeforeTool } from "../audit/audit-entry.js";

/** A transport that hands over what it read but could not take as a JSON-RPC message (stdio does). */
export interface InvalidMessageSource {
  /** Returns true when the value was answered; otherwise the transport reports it as an error, as before. */
  onInvalidMessage?: (value: unknown) => boolean;
}

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isRequestId = (id: unknown): id is string | number => typeof id === "string" || typeof id === "number";

const SHAPE = "Send params {name: string, arguments?: object, _meta?: {progressToken?: string | integer}}.";

/**
 * The common shape of a well-formed call (name, object arguments, at most a progress token), told without running the
 * schema; anything else goes through the SDK's own schema, which decides.
 */
export function plainlyWellFormed(params: unknown): params is Record<string, unknown> & { name: string } {
  if (!isPlainObject(params) || typeof params.name !== "string") return false;
  if (params.arguments !== undefined && !isPlainObject(params.arguments)) return false;
  if ("task" in params) return false;
  const meta = params._meta;
  if (meta === undefined) return true;
  if (!isPlainObject(meta) || Object.keys(meta).some((key) => key !== "progressToken")) return false;
  const token = meta.progressToken;
  return token === undefined || typeof token === "string" || Number.isInteger(token);
}

/** The first thing a schema refuses in a value, as "where: what". */
function firstProblem(schema: z.ZodType, value: unknown): string | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0]!;
  // Bounded: a message may quote a key the client sent.
  return `${issue.path.join(".") || "(message)"}: ${issue.message}`.slice(0, 200);
}

/** A `tools/call` this server refuses before any tool runs, with what to change. */
interface Refusal {
  /** Absent for a call sent as a notification (it cannot be answered, only audited). */
  id?: string | number | null;
  tool: string;
  arguments: unknown;
  message: string;
}

/** What is wrong with a `tools/call`, said as what to change; undefined when a handler may take it. */
function problemOf(call: Record<string, unknown>, envelopeValid: boolean): string | undefined {
  if (!envelopeValid) {
    const problem = firstProblem(JSONRPCRequestSchema, call) ?? firstProblem(CallToolRequestSchema, call);
    return `Invalid tools/call message at ${problem ?? "(message)"}. ${SHAPE}`;
  }
  // A call sent as a notification never reaches a handler: the protocol layer drops it without a word.
  if (!isRequestId(call.id)) return "A tools/call needs a request id.";
  // The protocol layer would refuse a task-augmented call itself, as an internal error, before any handler runs.
  if (isPlainObject(call.params) && "task" in call.params)
    return "This server does not run tools as tasks: send the tools/call again without params.task.";
  if (plainlyWellFormed(call.params)) return undefined;
  const problem = firstProblem(CallToolRequestSchema, call);
  return problem && `Invalid tools/call at ${problem}. ${SHAPE}`;
}

function refusalOf(value: unknown, envelopeValid: boolean): Refusal | undefined {
  if (!isPlainObject(value) || value.method !== "tools/call") return undefined;
  const problem = problemOf(value, envelopeValid);
  if (problem === undefined) return undefined;
  return {
    id: "id" in value ? (isRequestId(value.id) ? value.id : null) : undefined,
    ...auditedCall(value),
    message: `[${ErrorCodes.INVALID_ARGUMENT}] ${problem}`,
  };
}

/** How a tools/call message, well-formed or not, is named in its audit row: its tool and its object arguments. */
export function auditedCall(message: Record<string, unknown>): { tool: string; arguments: Record<string, unknown> } {
  const params = isPlainObject(message.params) ? message.params : {};
  return {
    tool: typeof params.name === "string" ? params.name.slice(0, 128) : "(malformed tools/call)",
    arguments: isPlainObject(params.arguments) ? params.arguments : {},
  };
}

/**
 * Connects a protocol server so that a `tools/call` the protocol layer would refuse (or drop) before any handler
 * runs is audited durably, then answered here with JSON-RPC's invalid-params error saying what to change: every
 * `tools/call` that reaches the server leaves exactly one audit row.
 */
export async function connectAudited(
  server: Server,
  transport: Transport & InvalidMessageSource,
  audit: AuditSink,
  caller: ResolvedCaller,
): Promise<void> {
  auditMalformedCalls(server, audit, caller);
  await server.connect(transport);
}

/**
 * Makes every transport this server is connected to, by whichever entry (the SDK's own for 2026-07-28 exchanges),
 * refuse and audit a malformed `tools/call` as {@link connectAudited} describes.
 */
export function auditMalformedCalls(server: Server, audit: AuditSink, caller: ResolvedCaller): void {
  const connect = server.connect.bind(server);
  server.connect = async (transport: Transport & InvalidMessageSource) => {
    await connect(transport);
    gateTransport(transport, audit, caller);
  };
}

/** Refuses and audits malformed calls on a transport whose onmessage is already set (by a protocol server or entry). */
export function gateTransport(
  transport: Transport & InvalidMessageSource,
  audit: AuditSink,
  caller: ResolvedCaller,
): void {
  const deliver = transport.onmessage;
  if (!deliver) return;
  const { identity } = caller;

  function refuse(refused: Refusal): void {
    const requestId = randomUUID();
    const answer = {
      jsonrpc: "2.0",
      // JSON-RPC answers a request whose id could not be read with a null id.
      id: refused.id,
      error: {
        code: ProtocolErrorCode.InvalidParams,
        message: refused.message,
        data: { error_code: ErrorCodes.INVALID_ARGUMENT, request_id: requestId },
      },
    } as JSONRPCMessage;
    const intent = auditIntent({ requestId, tool: refused.tool, arguments: refused.arguments }, identity);
    void audit
      .record(refusedBeforeTool(intent, ErrorCodes.INVALID_ARGUMENT))
      .catch(() => undefined)
      .then(() =>
        refused.id === undefined
          ? undefined
          : transport.send(answer, isRequestId(refused.id) ? { relatedRequestId: refused.id } : undefined),
      )
      .catch(() => undefined);
  }

  transport.onmessage = (message, extra) => {
    const refused = refusalOf(message, true);
    if (!refused) return deliver(message, extra);
    refuse(refused);
  };
  transport.onInvalidMessage = (value) => {
    const refused = refusalOf(value, false);
    if (refused) refuse(refused);
    return refused !== undefined;
  };
}
