import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { RemoteStack } from "./remote-workspace.js";
import { OVERHEAD_USER } from "./overhead.js";
import { median, ms, ratio, type Figure } from "./stats.js";

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "bin/databricks-governed-mcp.js");
const BARE = join(ROOT, "bench/fixtures/bare-stdio-server.mjs");
const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } },
};
const TOOLS_LIST = { jsonrpc: "2.0", id: 2, method: "tools/list" };

interface Timings {
  initializeMs: number;
  /** Spawn to the first tools/list answer: when a tool call could run. */
  toolsMs?: number;
}

/** Spawns `args` under node, writes initialize (and tools/list) at once, and times the answers from spawn. */
function timeStart(args: string[], env: Record<string, string>, withTools: boolean, limitMs: number): Promise<Timings> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ["pipe", "pipe", "pipe"], cwd: ROOT });
    const timings: Partial<Timings> = {};
    let stderr = "";
    let buffered = "";
    const timer = setTimeout(
      () => finish(new Error(`no answer within ${limitMs} ms; stderr: ${stderr.slice(-500)}`)),
      limitMs,
    );
    const finish = (err?: Error) => {
      clearTimeout(timer);
      child.kill("SIGTERM");
      if (err) reject(err);
      else resolvePromise(timings as Timings);
    };
    child.stderr.on("data", (chunk: Buffer) => (stderr = `${stderr}${chunk.toString("utf8")}`.slice(-4000)));
    child.on("exit", (code) => {
      if (timings.initializeMs === undefined || (withTools && timings.toolsMs === undefined))
        finish(new Error(`exited with ${code}; stderr: ${stderr.slice(-500)}`));
    });
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      for (let end = buffered.indexOf("\n"); end !== -1; end = buffered.indexOf("\n")) {
        const message = JSON.parse(buffered.slice(0, end)) as { id?: number };
        buffered = buffered.slice(end + 1);
        const at = performance.now() - started;
        if (message.id === 1) timings.initializeMs = at;
        if (message.id === 2) timings.toolsMs = at;
      }
      if (timings.initializeMs !== undefined && (!withTools || timings.toolsMs !== undefined)) finish();
    });
    child.stdin.write(`${JSON.stringify(INITIALIZE)}\n`);
    child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
    if (withTools) child.stdin.write(`${JSON.stringify(TOOLS_LIST)}\n`);
  });
}

/**
 * Start-up as an editor sees it: spawn → `initialize` answered, the compiled server (bin/) against a real-workspace
 * configuration (the workspace in its own process, a developer's token) vs a bare SDK stdio server importing the same
 * libraries, runs alternated; and the embedded default (no DATABRICKS_HOST) reported with when it can serve a tool.
 */
export async function measureStartup(
  stack: RemoteStack,
  options: { runs: number; embeddedRuns: number },
): Promise<Figure[]> {
  const token = await stack.issueToken(OVERHEAD_USER, ["all-apis"], 3600);
  const dir = mkdtempSync(join(tmpdir(), "governed-mcp-bench-startup-"));
  const base = { PATH: process.env.PATH ?? "", HOME: dir, LOG_LEVEL: "silent" };
  const serverEnv = {
    ...base,
    ...stack.serverEnvironment,
    DATABRICKS_TOKEN: token,
    MCP_AUDIT_SPOOL_DIR: join(dir, "s"),
  };
  const server: Timings[] = [];
  const bare: Timings[] = [];
  try {
    for (let i = 0; i < options.runs; i++) {
      bare.push(await timeStart([BARE], base, false, 30_000));
      server.push(await timeStart([BIN, "--stdio"], serverEnv, true, 30_000));
    }
    const embedded: Timings[] = [];
    for (let i = 0; i < options.embeddedRuns; i++)
      embedded.push(
        await timeStart([BIN, "--stdio"], { ...base, MCP_AUDIT_SPOOL_DIR: join(dir, `e${i}`) }, true, 120_000),
      );
    const init = median(server.map((t) => t.initializeMs));
    const baseline = median(bare.map((t) => t.initializeMs));
    const r = init / baseline;
    const tools = median(server.map((t) => t.toolsMs!));
    const ready = tools / baseline;
    const figures: Figure[] = [
      {
        benchmark: "start-up (stdio)",
        figure: "spawn → initialize answered, server / bare SDK server",
        measured: ratio(r, 2),
        target: "≤ 2.00",
        pass: r <= 2,
        detail: `median of ${options.runs}: server ${ms(init, 0)} vs bare ${ms(baseline, 0)}`,
      },
      {
        benchmark: "start-up (stdio)",
        figure: "spawn → first tools/list answered (identity and audit ready) / bare SDK server's initialize",
        measured: ratio(ready, 2),
        target: "≤ 2.00",
        pass: ready <= 2,
        detail: `median of ${options.runs}: server ${ms(tools, 0)} vs bare ${ms(baseline, 0)}`,
      },
    ];
    if (embedded.length > 0)
      figures.push({
        benchmark: "start-up (stdio)",
        figure: "embedded default: spawn → initialize / → first tools/list",
        measured: `${ms(median(embedded.map((t) => t.initializeMs)), 0)} / ${ms(median(embedded.map((t) => t.toolsMs!)), 0)}`,
        target: "report",
        detail: `median of ${embedded.length}; the local workspace starts behind the answered initialize`,
      });
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
