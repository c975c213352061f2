import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { StdioTransport } from "../../src/transport/stdio-transport.js";

/** A transport on in-memory streams, with everything it reports collected. */
async function harness(handles = false) {
  const input = new PassThrough();
  const output = new PassThrough();
  const transport = new StdioTransport(input, output);
  const seen = { messages: [] as JSONRPCMessage[], invalid: [] as unknown[], errors: [] as Error[], closed: 0 };
  transport.onmessage = (message) => seen.messages.push(message);
  transport.onerror = (error) => seen.errors.push(error);
  transport.onclose = () => (seen.closed += 1);
  transport.onInvalidMessage = (value) => {
    seen.invalid.push(value);
    return handles;
  };
  await transport.start();
  /** Writes and lets the stream deliver. */
  const write = async (text: string | Buffer) => {
    input.write(text);
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
  return { transport, input, output, seen, write };
}

describe("StdioTransport (one JSON-RPC message per line)", () => {
  it("delivers messages split across chunks and several per chunk, with CRLF or LF endings", async () => {
    const { seen, write } = await harness();
    await write('{"jsonrpc":"2.0","id":1,"meth');
    await write('od":"ping"}\r\n{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
    expect(seen.messages).toEqual([
      { jsonrpc: "2.0", id: 1, method: "ping" },
      { jsonrpc: "2.0", method: "notifications/initialized" },
    ]);
    expect(seen.errors).toEqual([]);
  });

  it("hands JSON that is no JSON-RPC message to onInvalidMessage; unanswered, it is reported as an error", async () => {
    const unanswered = await harness(false);
    await unanswered.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","extra":1}\n');
    expect(unanswered.seen.invalid).toEqual([{ jsonrpc: "2.0", id: 1, method: "tools/call", extra: 1 }]);
    expect(unanswered.seen.errors).toHaveLength(1);

    const answered = await harness(true);
    await answered.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","extra":1}\n');
    expect(answered.seen.invalid).toHaveLength(1);
    expect(answered.seen.errors).toEqual([]);
    expect(answered.seen.messages).toEqual([]);
  });

  it("reports a line that is not JSON and goes on with the next", async () => {
    const { seen, write } = await harness();
    await write('not json\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    expect(seen.errors).toHaveLength(1);
    expect(seen.invalid).toEqual([]);
    expect(seen.messages).toEqual([{ jsonrpc: "2.0", id: 2, method: "ping" }]);
  });

  it("closes when a line outgrows the buffer bound, as the SDK's transport does", async () => {
    const { seen, write } = await harness();
    await write(Buffer.alloc(10 * 1024 * 1024 + 1, 0x20));
    expect(seen.errors[0]?.message).toMatch(/exceeds/);
    expect(seen.closed).toBe(1);
  });

  it("writes each message as one line", async () => {
    const { transport, output } = await harness();
    await transport.send({ jsonrpc: "2.0", id: 1, result: {} });
    expect(String(output.read())).toBe('{"jsonrpc":"2.0","id":1,"result":{}}\n');
  });
});
