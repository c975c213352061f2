import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import pino from "pino";
import { Server } from "@modelcontextprotocol/server";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { startApp, type App } from "../../src/app.js";
import { CAPABILITIES, INSTRUCTIONS, SERVER_INFO } from "../../src/mcp/server-description.js";
import { EarlyStdioTransport } from "../../src/transport/early-stdio.js";
import { StdioTransport } from "../../src/transport/stdio-transport.js";
import { expectEquivalentAuditRows, waitForAudit } from "../support/audit-table.js";
import { FakeClock } from "../support/fake-clock.js";
import { comparableJson } from "../support/results.js";
import { systemClock } from "../../src/clock.js";

// Over stdio, once the connection is initialized in the 2025 era, a plain tools/call is answered without the protocol
// server's per-request work; the same call with `_meta: {}` goes through it. The latter is the oracle.

/** Genie messages advance only when this clock moves. */
const genieClock = new FakeClock();
let workspace: LocalWorkspace;
let app: App;
const stdin = new PassThrough();
const stdout = new PassThrough();
const answers = new Map<string | number, Record<string, unknown>>();
const waiting = new Map<string | number, (answer: Record<string, unknown>) => void>();

stdout.setEncoding("utf8");
let carried = "";
stdout.on("data", (chunk: string) => {
  const lines = (carried + chunk).split("\n");
  carried = lines.pop()!;
  for (const line of lines) {
    const message = JSON.parse(line) as Record<string, unknown>;
    const id = message.id as string | number | undefined;
    if (id === undefined) continue;
    answers.set(id, message);
    waiting.get(id)?.(message);
  }
});

/** Writes one message on stdin and resolves with the answer of its id. */
function send(message: { id: string | number } & Record<string, unknown>): Promise<Record<string, unknown>> {
  const answered = new Promise<Record<string, unknown>>((resolve) => waiting.set(message.id, resolve));
  stdin.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`);
  return answered;
}

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 1_000, clock: genieClock, statementClock: systemClock });
  const early = await new EarlyStdioTransport(
    { serverInfo: SERVER_INFO, capabilities: CAPABILITIES, instructions: INSTRUCTIONS },
    new StdioTransport(stdin, stdout),
  ).listen();
  app = await startApp({
    env: { LOG_LEVEL: "silent" },
    transport: "stdio",
    localWorkspace: workspace,
    stdioTransport: early,
    logger: pino({ level: "silent" }),
    overrides: { audit: { spoolDir: mkdtempSync(join(tmpdir(), "governed-mcp-spool-")), flushIntervalMs: 50 } },
  });
  const init = await send({
    id: "init",
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "line-client", version: "1" } },
  });
  expect(init).toMatchObject({ result: { protocolVersion: "2025-11-25" } });
  stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
}, 60_000);
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(async () => {
  stdin.end();
  await app?.stop();
  await workspace?.close();
});

const comparable = (answer: Record<string, unknown>): unknown => comparableJson(JSON.stringify(answer));

/** Protocol-server work per request: the SDK builds a handler context for every request it serves. */
const protocolServerRequests = () =>
  vi.spyOn(Server.prototype as unknown as { buildContext: (...args: unknown[]) => unknown }, "buildContext");

describe("a plain tools/call over stdio, 2025 era", () => {
  it.each([
    ["check_identity", { name: "check_identity", arguments: {} }],
    ["a query", { name: "query_sales_data", arguments: { quarter: "2026-Q1", limit: 4 } }],
    ["an argument the tool refuses", { name: "query_sales_data", arguments: { limit: -3 } }],
    ["a tool that does not exist", { name: "no_such_tool" }],
  ])("is answered without the protocol server exactly as it answers: %s", async (name, params) => {
    await send({ id: `${name}-warm`, method: "tools/call", params: { name: "check_identity" } });
    const served = protocolServerRequests();
    const direct = await send({ id: `${name}-direct`, method: "tools/call", params });
    expect(served).not.toHaveBeenCalled();
    const viaSdk = await send({ id: `${name}-sdk`, method: "tools/call", params: { ...params, _meta: {} } });
    expect(served).toHaveBeenCalledTimes(1);

    expect({ ...(comparable(direct) as object), id: "x" }).toEqual({ ...(comparable(viaSdk) as object), id: "x" });
    await expectEquivalentAuditRows(workspace, direct, viaSdk);
  });

  it("is stopped by notifications/cancelled and, as the protocol server does, not answered; audited once", async () => {
    const question = { name: "genie_query", arguments: { question: "total amount by region" } };
    const running = send({ id: "genie-1", method: "tools/call", params: question });
    // The Genie message then exists and waits on a clock only the test moves: only the cancellation can end the call.
    await genieClock.untilWaiting(genieClock.waiting + 1);
    stdin.write(
      `${JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "genie-1" } })}\n`,
    );
    const rows = await waitForAudit(workspace, (all) => all.some((r) => r.tool === "genie_query"));
    expect(rows.filter((r) => r.tool === "genie_query").map((r) => [r.outcome, r.error_code])).toEqual([
      ["cancelled", "CANCELLED"],
    ]);
    // stdout is in order: an answer sent when the call ended would be read before this one.
    await send({ id: "after", method: "ping" });
    expect(answers.has("genie-1")).toBe(false);
    void running;
  });
});
