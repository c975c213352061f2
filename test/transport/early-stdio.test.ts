import { PassThrough } from "node:stream";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { CAPABILITIES, INSTRUCTIONS, SERVER_INFO } from "../../src/mcp/server-description.js";
import { EarlyStdioTransport } from "../../src/transport/early-stdio.js";
import { StdioTransport } from "../../src/transport/stdio-transport.js";

const DESCRIPTION = { serverInfo: SERVER_INFO, capabilities: CAPABILITIES, instructions: INSTRUCTIONS };
const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "editor", version: "1" } },
};

function pipes() {
  const input = new PassThrough();
  const output = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  let buffered = "";
  output.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    for (let end = buffered.indexOf("\n"); end !== -1; end = buffered.indexOf("\n")) {
      lines.push(JSON.parse(buffered.slice(0, end)) as Record<string, unknown>);
      buffered = buffered.slice(end + 1);
    }
  });
  const write = (message: unknown) => input.write(`${JSON.stringify(message)}\n`);
  return { input, output, lines, write };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A protocol server as the real one is built: the same description, one tools/list handler. */
function protocolServer(): Server {
  const server = new Server(SERVER_INFO, { capabilities: CAPABILITIES, instructions: INSTRUCTIONS });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [] }));
  return server;
}

describe("EarlyStdioTransport", () => {
  it("answers initialize before any protocol server exists, negotiating the version as the SDK does", async () => {
    const io = pipes();
    await new EarlyStdioTransport(DESCRIPTION, new StdioTransport(io.input, io.output)).listen();
    io.write(INITIALIZE);
    io.write({ ...INITIALIZE, id: 2, params: { ...INITIALIZE.params, protocolVersion: "1999-01-01" } });
    await settle();
    expect(io.lines).toHaveLength(1);
    expect(io.lines[0]).toMatchObject({
      id: 1,
      result: { protocolVersion: "2025-06-18", serverInfo: SERVER_INFO, capabilities: CAPABILITIES },
    });
  });

  it("holds every other message until release, then hands them over in order and answers initialize once", async () => {
    const io = pipes();
    const early = await new EarlyStdioTransport(DESCRIPTION, new StdioTransport(io.input, io.output)).listen();
    io.write(INITIALIZE);
    io.write({ jsonrpc: "2.0", method: "notifications/initialized" });
    io.write({ jsonrpc: "2.0", id: 7, method: "tools/list" });
    await settle();
    expect(io.lines.map((l) => l.id)).toEqual([1]);

    const server = protocolServer();
    const mismatches: unknown[] = [];
    early.onMismatch = (a, b) => mismatches.push([a, b]);
    await server.connect(early);
    early.release();
    await settle();
    await settle();
    expect(io.lines.map((l) => l.id)).toEqual([1, 7]);
    expect(io.lines[1]).toMatchObject({ result: { tools: [] } });
    // The protocol server's own answer to the same initialize matched the early one, and was not sent twice.
    expect(mismatches).toEqual([]);
  });

  it("reports when the protocol server would have answered initialize differently", async () => {
    const io = pipes();
    const early = await new EarlyStdioTransport(
      { ...DESCRIPTION, instructions: "out of date" },
      new StdioTransport(io.input, io.output),
    ).listen();
    io.write(INITIALIZE);
    await settle();
    const mismatches: unknown[] = [];
    early.onMismatch = (a, b) => mismatches.push([a, b]);
    await protocolServer().connect(early);
    early.release();
    await settle();
    expect(mismatches).toHaveLength(1);
  });

  it("passes messages straight through once released", async () => {
    const io = pipes();
    const early = await new EarlyStdioTransport(DESCRIPTION, new StdioTransport(io.input, io.output)).listen();
    await protocolServer().connect(early);
    early.release();
    io.write(INITIALIZE);
    await settle();
    await settle();
    io.write({ jsonrpc: "2.0", id: 3, method: "tools/list" });
    await settle();
    await settle();
    expect(io.lines.map((l) => l.id)).toEqual([1, 3]);
  });
});
