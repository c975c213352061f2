import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import pino from "pino";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { startApp, type App } from "../../src/app.js";
import { ServerMetrics } from "../../src/observability/metrics.js";
import { CAPABILITIES, INSTRUCTIONS, SERVER_INFO } from "../../src/mcp/server-description.js";
import { EarlyStdioTransport } from "../../src/transport/early-stdio.js";
import { StdioTransport } from "../../src/transport/stdio-transport.js";

// /metrics is served by the HTTP server (or a listener of its own beside it). A stdio server has neither, so it
// counts nothing: per-call work no one could read.

let workspace: LocalWorkspace;
const running: { app: App; stdin: PassThrough }[] = [];

/** A stdio server in this process, on piped streams; `call` writes one message and resolves with its answer. */
async function stdioServer(env: Record<string, string>) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const waiting = new Map<number, (answer: Record<string, unknown>) => void>();
  let carried = "";
  stdout.setEncoding("utf8");
  stdout.on("data", (chunk: string) => {
    const lines = (carried + chunk).split("\n");
    carried = lines.pop()!;
    for (const line of lines) {
      const message = JSON.parse(line) as Record<string, unknown>;
      waiting.get(message.id as number)?.(message);
    }
  });
  const early = await new EarlyStdioTransport(
    { serverInfo: SERVER_INFO, capabilities: CAPABILITIES, instructions: INSTRUCTIONS },
    new StdioTransport(stdin, stdout),
  ).listen();
  const app = await startApp({
    env: { LOG_LEVEL: "silent", ...env },
    transport: "stdio",
    localWorkspace: workspace,
    stdioTransport: early,
    logger: pino({ level: "silent" }),
    overrides: { audit: { spoolDir: mkdtempSync(join(tmpdir(), "governed-mcp-spool-")) } },
  });
  running.push({ app, stdin });
  let id = 0;
  const call = (method: string, params: unknown) => {
    const mine = ++id;
    const answered = new Promise<Record<string, unknown>>((resolve) => waiting.set(mine, resolve));
    stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: mine, method, params })}\n`);
    return answered;
  };
  await call("initialize", {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "line-client", version: "1" },
  });
  stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
  return { app, call };
}

beforeAll(async () => {
  workspace = await startLocalWorkspace();
}, 60_000);
afterAll(async () => {
  for (const { app, stdin } of running) {
    stdin.end();
    await app.stop();
  }
  await workspace?.close();
});

describe("metrics over stdio", () => {
  it("are not counted, with or without MCP_METRICS_PORT: no listener serves them", async () => {
    const observed = vi.spyOn(ServerMetrics.prototype, "observeCall");
    for (const env of [{}, { MCP_METRICS_PORT: "0" }] as Record<string, string>[]) {
      const { app, call } = await stdioServer(env);
      expect(await call("tools/call", { name: "check_identity", arguments: {} })).toMatchObject({
        result: { structuredContent: expect.any(Object) },
      });
      expect(app.metrics).toBeUndefined();
      expect(app.metricsListener).toBeUndefined();
    }
    expect(observed).not.toHaveBeenCalled();
    observed.mockRestore();
  });
});
