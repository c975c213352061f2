import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import {
  isInitializeRequest,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type RequestId,
  type Transport,
  type TransportSendOptions,
} from "@modelcontextprotocol/server";
// The JSON-RPC envelope is the same in both eras; v1's schema checks it without running the protocol layer.
import { JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";
import { SPOKEN_PROTOCOL_VERSIONS } from "./http-guards.js";
import { sendJson } from "./json-answers.js";

/** Messages one POST may carry in a batch. */
export const MAX_BATCH_MESSAGES = 100;
/** A comment line on an idle event stream, so proxies do not cut a long call. */
const KEEP_ALIVE_MS = 15_000;

/** Why a POST is refused before any message reaches a protocol server: HTTP status, JSON-RPC code, message. */
export interface ProtocolRefusal {
  status: number;
  code: number;
  message: string;
}

const refusal = (status: number, code: number, message: string) => ({ refusal: { status, code, message } });

/** The refusal of a POST whose MCP-Protocol-Version header names a version this server does not speak. */
export function unsupportedVersion(header: string | string[] | undefined): ProtocolRefusal {
  return {
    status: 400,
    code: -32600,
    message: `Unsupported MCP-Protocol-Version: ${String(header).slice(0, 40)}; send one of ${SPOKEN_PROTOCOL_VERSIONS.join(", ")}.`,
  };
}

// Shape tests for messages already validated (by checkPost, or built by the protocol server): the SDK's own guards
// re-run a schema over the whole message, answers and their rows included.
const isRequest = (message: JSONRPCMessage): message is JSONRPCRequest => "method" in message && "id" in message;
const isAnswer = (message: JSONRPCMessage) => !("method" in message) && ("result" in message || "error" in message);

function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === "application/json") return true;
  return contentType?.split(";")[0]?.trim().toLowerCase() === "application/json";
}

/**
 * The checks streamable HTTP asks of a POST (Accept, Content-Type, JSON-RPC shape, batch rules), answered with the
 * statuses and codes MCP clients expect; returns the messages when the POST may go on.
 */
export function checkPost(
  headers: IncomingHttpHeaders,
  body: unknown,
): { messages: JSONRPCMessage[] } | { refusal: ProtocolRefusal } {
  const accept = headers.accept ?? "";
  if (!accept.includes("application/json") || !accept.includes("text/event-stream"))
    return refusal(406, -32000, "Not Acceptable: Client must accept both application/json and text/event-stream");
  if (!isJsonMediaType(headers["content-type"]))
    return refusal(415, -32000, "Unsupported Media Type: Content-Type must be application/json");
  const raw = Array.isArray(body) ? body : [body];
  if (raw.length === 0) return refusal(400, -32600, "Invalid Request: an empty batch");
  if (raw.length > MAX_BATCH_MESSAGES)
    return refusal(400, -32600, `Invalid Request: Batch must not exceed ${MAX_BATCH_MESSAGES} messages`);
  const messages: JSONRPCMessage[] = [];
  for (const item of raw) {
    const parsed = JSONRPCMessageSchema.safeParse(item);
    if (!parsed.success) return refusal(400, -32700, "Parse error: Invalid JSON-RPC message");
    messages.push(parsed.data);
  }
  if (messages.length > 1 && messages.some(isInitializeRequest))
    return refusal(400, -32600, "Invalid Request: Only one initialization request is allowed");
  const ids = messages.filter(isRequest).map((m) => m.id);
  if (new Set(ids).size !== ids.length) return refusal(400, -32600, "Invalid Request: request ids repeat in a batch");
  return { messages };
}

/**
 * The transport of one stateless POST: hands its messages to a protocol server and writes the answers straight to
 * Node's response, as one JSON body, or as an event stream when the client asked for progress (only a stream can
 * carry notifications before the answer). Nothing outlives the request.
 */
export class PostTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;

  /** Answers by request id, in the order the requests came, so a batch is answered in its own order. */
  private readonly answers = new Map<RequestId, JSONRPCMessage | undefined>();
  private unanswered = 0;
  private keepAlive?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly stream: boolean,
  ) {}

  async start(): Promise<void> {}

  /** Delivers the POST's messages; a POST with no request (notifications, responses) is answered 202 at once. */
  deliver(messages: JSONRPCMessage[]): void {
    for (const message of messages) {
      if (!isRequest(message)) continue;
      this.answers.set(message.id, undefined);
      this.unanswered += 1;
    }
    if (this.unanswered === 0) this.res.writeHead(202).end();
    else if (this.stream) {
      this.res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      });
      this.res.flushHeaders();
      this.keepAlive = setInterval(() => {
        if (!this.res.destroyed) this.res.write(": keepalive\n\n");
      }, KEEP_ALIVE_MS).unref();
    }
    for (const message of messages) this.onmessage?.(message);
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.closed || this.res.writableEnded || this.res.destroyed) return;
    const answer = isAnswer(message);
    const id = answer ? (message as { id: RequestId }).id : options?.relatedRequestId;
    // Stateless: a message tied to no request of this POST has no stream to go on.
    if (id === undefined || !this.answers.has(id)) return;
    if (this.stream) this.res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
    if (!answer || this.answers.get(id) !== undefined) return;
    this.answers.set(id, message);
    this.unanswered -= 1;
    if (this.unanswered === 0) this.finish();
  }

  private finish(): void {
    clearInterval(this.keepAlive);
    if (this.stream) {
      this.res.end();
      return;
    }
    const answers = [...this.answers.values()];
    sendJson(this.res, 200, answers.length === 1 ? answers[0] : answers);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAlive);
    this.onclose?.();
  }
}
