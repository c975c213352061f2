import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
} from "@modelcontextprotocol/sdk/types.js";
import type { InvalidMessageSource } from "../mcp/malformed-calls.js";
import { StdioTransport } from "./stdio-transport.js";

/** What the server says about itself in its `initialize` answer; known before anything else has started. */
export interface ServerDescription {
  serverInfo: { name: string; version: string };
  capabilities: Record<string, unknown>;
  instructions?: string;
}

type Pending = { kind: "message"; message: JSONRPCMessage } | { kind: "invalid"; value: unknown };

/**
 * stdio clients start the server with the editor and wait for `initialize`. This transport reads stdin from the first
 * moment, answers `initialize` at once from the server's fixed description, and holds every other message, in order,
 * until the protocol server behind it (identity, audit, the local workspace) has connected and `release()` is called:
 * the first tool call waits for start-up; the handshake does not.
 */
export class EarlyStdioTransport implements Transport, InvalidMessageSource {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onInvalidMessage?: (value: unknown) => boolean;

  private readonly pending: Pending[] = [];
  private released = false;
  private started = false;
  private releaseAsked = false;
  /** The id of the `initialize` answered early; the protocol server's own answer to it is not sent again. */
  private answeredId?: string | number;
  private earlyResult?: unknown;
  /** Told when the protocol server's own answer differs from the early one (a description out of date). */
  onMismatch?: (early: unknown, late: unknown) => void;

  constructor(
    private readonly description: ServerDescription,
    private readonly inner: StdioTransport = new StdioTransport(),
  ) {
    inner.onmessage = (message) => this.receive({ kind: "message", message });
    inner.onInvalidMessage = (value) => {
      this.receive({ kind: "invalid", value });
      return true;
    };
    inner.onerror = (error) => this.onerror?.(error);
    inner.onclose = () => this.onclose?.();
  }

  /** Starts reading stdin (before the rest of the server has loaded). */
  async listen(): Promise<this> {
    await this.inner.start();
    return this;
  }

  /** Called by the protocol server on connect; messages flow once it has started and `release()` was called. */
  async start(): Promise<void> {
    this.started = true;
    this.flush();
  }

  /** Hands over every message held so far, in arrival order, then passes the rest straight through. */
  release(): void {
    this.releaseAsked = true;
    this.flush();
  }

  private flush(): void {
    if (!this.started || !this.releaseAsked) return;
    this.released = true;
    for (const item of this.pending.splice(0)) this.deliver(item);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.answeredId !== undefined && "id" in message && message.id === this.answeredId && !("method" in message)) {
      this.answeredId = undefined;
      const late = "result" in message ? message.result : message;
      if (JSON.stringify(late) !== JSON.stringify(this.earlyResult)) this.onMismatch?.(this.earlyResult, late);
      return;
    }
    await this.inner.send(message);
  }

  async close(): Promise<void> {
    await this.inner.close();
  }

  private receive(item: Pending): void {
    if (!this.released && item.kind === "message" && this.answeredId === undefined) this.answerEarly(item.message);
    if (this.released) this.deliver(item);
    else this.pending.push(item);
  }

  private deliver(item: Pending): void {
    if (item.kind === "message") this.onmessage?.(item.message);
    else if (!this.onInvalidMessage?.(item.value))
      this.onerror?.(new Error("stdin: a line that is no JSON-RPC message"));
  }

  /** Answers an `initialize` request as the SDK's server would; the request is still handed over on release. */
  private answerEarly(message: JSONRPCMessage): void {
    if (!("method" in message) || message.method !== "initialize" || !("id" in message)) return;
    const requested = (message.params as { protocolVersion?: unknown } | undefined)?.protocolVersion;
    const protocolVersion =
      typeof requested === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(requested)
        ? requested
        : LATEST_PROTOCOL_VERSION;
    const { serverInfo, capabilities, instructions } = this.description;
    this.earlyResult = { protocolVersion, capabilities, serverInfo, ...(instructions ? { instructions } : {}) };
    this.answeredId = message.id;
    void this.inner.send({ jsonrpc: "2.0", id: message.id, result: this.earlyResult } as JSONRPCMessage);
  }
}
