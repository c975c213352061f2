import { randomUUID } from "node:crypto";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ErrorCode } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCodes } from "../errors.js";
import type { ResolvedCaller } from "../identity/types.js";
import type { AuditSink } from "./tool-dispatcher.js";

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The common shape of a well-formed call (name, object arguments, at most a progress token), told without running the
 * schema; anything else goes through the SDK's own schema, which decides.
 */
function plainlyWellFormed(params: unknown): boolean {
  if (!isPlainObject(params) || typeof params.name !== "string") return false;
  if (params.arguments !== undefined && !isPlainObject(params.arguments)) return false;
  if ("task" in params) return false;
  const meta = params._meta;
  if (meta === undefined) return true;
  if (!isPlainObject(meta) || Object.keys(meta).some((key) => key !== "progressToken")) return false;
  const token = meta.progressToken;
  return token === undefined || typeof token === "string" || Number.isInteger(token);
}

/** A `tools/call` request the SDK will refuse before any handler runs (params not an object, name missing…). */
function malformedToolCall(message: unknown): { id: string | number; tool: string } | undefined {
  if (!message || typeof message !== "object") return undefined;
  const m = message as { method?: unknown; id?: unknown; params?: { name?: unknown } };
  if (m.method !== "tools/call" || (typeof m.id !== "string" && typeof m.id !== "number")) return undefined;
  if (plainlyWellFormed(m.params) || CallToolRequestSchema.safeParse(message).success) return undefined;
  const name = m.params && typeof m.params === "object" ? m.params.name : undefined;
  return { id: m.id, tool: typeof name === "string" ? name.slice(0, 128) : "(malformed tools/call)" };
}

/**
 * Connects a protocol server so that a malformed `tools/call` (which the SDK would refuse on its own, as an internal
 * error carrying its schema dump) is audited durably, then answered here with JSON-RPC's invalid-params error.
 */
export async function connectAudited(
  server: Server,
  transport: Transport,
  audit: AuditSink,
  caller: ResolvedCaller,
): Promise<void> {
  await server.connect(transport);
  const deliver = transport.onmessage;
  if (!deliver) return;
  const { identity } = caller;
  transport.onmessage = (message, extra) => {
    const malformed = malformedToolCall(message);
    if (!malformed) return deliver(message, extra);
    void audit
      .record({
        requestId: randomUUID(),
        mode: identity.mode,
        credentialSource: identity.source,
        human: identity.human,
        workspacePrincipal: identity.expectedPrincipal,
        role: identity.role,
        tool: malformed.tool,
        arguments: {},
        outcome: "denied",
        errorCode: ErrorCodes.INVALID_ARGUMENT,
        latencyMs: 0,
        statementIds: [],
      })
      .catch(() => undefined)
      .then(() =>
        transport.send(
          {
            jsonrpc: "2.0",
            id: malformed.id,
            error: {
              code: ErrorCode.InvalidParams,
              message: `[${ErrorCodes.INVALID_ARGUMENT}] tools/call needs params {name: string, arguments?: object}.`,
            },
          },
          { relatedRequestId: malformed.id },
        ),
      )
      .catch(() => undefined);
  };
}
