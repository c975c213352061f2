import process from "node:process";
import type { Readable, Writable } from "node:stream";
import type { Transport } from "@modelcontextprotocol/server";
import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import type { InvalidMessageSource } from "../mcp/malformed-calls.js";
import { checkEnvelope } from "./stdio-envelope.js";

/** A line longer than this closes the transport, as the SDK's own stdio transport does. */
const MAX_BUFFERED_BYTES = 10 * 1024 * 1024;
const CR = 0x0d;

/**
 * MCP over stdio: one JSON-RPC message per line on stdin, answers on stdout. Unlike the SDK's transport, a line that is
 * JSON but no JSON-RPC message goes to `onInvalidMessage` first, so that a malformed `tools/call` is answered and
 * audited rather than dropped without an answer.
 */
export class StdioTransport implements Transport, InvalidMessageSource {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onInvalidMessage?: (value: unknown) => boolean;

  private buffer?: Buffer;

  constructor(
    private readonly input: Readable = process.stdin,
    private readonly output: Writable = process.stdout,
  ) {}

  async start(): Promise<void> {
    this.input.on("data", this.ondata);
    this.input.on("error", this.oninputerror);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.output.write(`${JSON.stringify(message)}\n`)) return;
    await new Promise<void>((resolve) => this.output.once("drain", resolve));
  }

  async close(): Promise<void> {
    this.input.off("data", this.ondata);
    this.input.off("error", this.oninputerror);
    if (this.input.listenerCount("data") === 0) this.input.pause();
    this.buffer = undefined;
    this.onclose?.();
  }

  private readonly oninputerror = (error: Error) => this.onerror?.(error);

  private readonly ondata = (chunk: Buffer) => {
    if ((this.buffer?.length ?? 0) + chunk.length > MAX_BUFFERED_BYTES) {
      this.buffer = undefined;
      this.onerror?.(new Error(`A stdin message exceeds ${MAX_BUFFERED_BYTES} bytes.`));
      void this.close();
      return;
    }
    this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    // Re-read each turn: a message handler may close the transport (and drop the buffer) on the way.
    for (let end = this.buffer.indexOf("\n"); end !== -1; end = this.buffer?.indexOf("\n") ?? -1) {
      const buffer: Buffer = this.buffer!;
      const stop = end > 0 && buffer[end - 1] === CR ? end - 1 : end;
      const line = buffer.toString("utf8", 0, stop);
      // A chunk that ended with its line leaves nothing to carry (and no copy into the next chunk).
      this.buffer = end + 1 < buffer.length ? buffer.subarray(end + 1) : undefined;
      this.deliver(line);
    }
  };

  private deliver(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      this.onerror?.(err as Error);
      return;
    }
    const checked = checkEnvelope(value);
    if (checked.ok) this.onmessage?.(checked.message);
    else if (!this.onInvalidMessage?.(value)) this.onerror?.(checked.error);
  }
}
