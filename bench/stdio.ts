import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { requireBuild } from "./compiled.js";
import type { RemoteStack } from "./remote-workspace.js";
import { alternate, closedLoop, failures, serverWarmup, throughput, type LoadResult } from "./load.js";
import { OVERHEAD_USER } from "./overhead.js";
import { treeCpuSeconds } from "./placement.js";
import { ms, quantile, ratio, type Figure } from "./stats.js";
import { DirectStatementClient, SALES_ARGS, StdioWireClient } from "./wire.js";

/** The compiled server, as operators run it (`npm run bench` builds it first). */
const BIN = "bin/databricks-governed-mcp.js";

/** Blocks per arm of the run that reads CPU time: few enough that reading it does not change what it measures. */
const CPU_BLOCKS = 10;

/** The floor any stdio server stands on here: a relay with no governance (bench/fixtures/bare-stdio-relay.mjs). */
export const RELAY = "bench/fixtures/bare-stdio-relay.mjs";

/** The relay with the audit contract and nothing else (bench/fixtures/audited-stdio-relay.mjs): what the contract costs. */
export const AUDITED_RELAY = "bench/fixtures/audited-stdio-relay.mjs";

/**
 * The server's command line. The benchmark's process is pinned to the server's CPUs (bench/placement.ts) and a child
 * inherits that; the stdio server gets every CPU back, since sharing one with the client measured slower (the
 * server's own threads — thread pool, garbage collector, optimizing compiler — then queue behind its main thread).
 */
export function serverCommand(
  cpus = availableParallelism(),
  node: string[] = [BIN, "--stdio"],
): { command: string; args: string[] } {
  if (cpus < 2 || process.platform !== "linux" || !hasTaskset()) return { command: process.execPath, args: node };
  return { command: "taskset", args: ["-c", `0-${cpus - 1}`, process.execPath, ...node] };
}

function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * query_sales_data over stdio (the compiled server spawned as a local developer would, with a workspace token) vs
 * direct, c=1, the workspace in its own process: with a minimal line client (the server's cost, the target) and with
 * the SDK client (what an SDK host adds).
 */
export async function measureStdio(stack: RemoteStack, options: { calls: number; warmup: number }): Promise<Figure[]> {
  requireBuild();
  const SERVER = serverCommand();
  const { app, workspaceUrl } = stack;
  const access_token = await stack.issueToken(OVERHEAD_USER, ["all-apis"], 3600);
  const spoolDir = mkdtempSync(join(tmpdir(), "governed-mcp-bench-stdio-"));
  // As a local developer runs it: the workspace's settings, the audit writer as the server's own service principal,
  // and the developer's workspace token.
  const env = (spool: string) => ({
    PATH: process.env.PATH ?? "",
    LOG_LEVEL: "silent",
    ...stack.serverEnvironment,
    DATABRICKS_TOKEN: access_token,
    MCP_AUDIT_SPOOL_DIR: join(spoolDir, spool),
  });
  const direct = new DirectStatementClient(
    workspaceUrl,
    app.config.workspace.warehouseId,
    app.config.workspace.salesTable,
  );
  const authorization = `Bearer ${access_token}`;
  const armsOf = (call: () => Promise<unknown>) => ({ a: call, b: () => direct.execute(authorization) });
  const versusDirect = async (call: () => Promise<unknown>) => {
    const arms = armsOf(call);
    await closedLoop(serverWarmup(options), 1, arms.a);
    await closedLoop(options.warmup, 1, arms.b);
    return alternate(options.calls, 1, options.calls, arms);
  };
  const describe = (run: { a: LoadResult; b: LoadResult }, client: string) =>
    `p50 stdio ${ms(quantile(run.a.latencies, 0.5))} vs direct ${ms(quantile(run.b.latencies, 0.5))}; ${client}${failures(run.a, run.b)}`;
  try {
    const wire = await StdioWireClient.start(SERVER.command, SERVER.args, env("wire"));
    let minimal;
    let metered;
    try {
      const pid = wire.pid!;
      const call = () => wire.callTool("query_sales_data", SALES_ARGS);
      minimal = await versusDirect(call);
      // CPU is read in a run of its own: reading it between the one-call blocks above would leave each call after an
      // idle gap of a few milliseconds, which slowed both arms by ~0.5 ms and moved the ratio towards 1.
      metered = await alternate(options.calls, 1, CPU_BLOCKS, armsOf(call), () => [
        treeCpuSeconds(pid),
        treeCpuSeconds(stack.workspacePid),
      ]);
    } finally {
      await wire.close();
    }
    // The same calls through the relay, placed as the server is: what the pipes and the extra process cost alone; then
    // through the relay with the audit contract, its spool beside the server's: what the contract adds to that.
    const relaySpool = join(spoolDir, "relay");
    mkdirSync(relaySpool);
    const throughRelay = async (fixture: string) => {
      const placed = serverCommand(undefined, [fixture]);
      const relay = await StdioWireClient.start(placed.command, placed.args, {
        PATH: process.env.PATH ?? "",
        DATABRICKS_TOKEN: access_token,
        RELAY_WORKSPACE_URL: workspaceUrl,
        RELAY_STATEMENT_BODY: direct.statementBody,
        RELAY_SPOOL_DIR: relaySpool,
      });
      try {
        return await versusDirect(() => relay.callTool("query_sales_data", SALES_ARGS));
      } finally {
        await relay.close();
      }
    };
    const floor = await throughRelay(RELAY);
    const audited = await throughRelay(AUDITED_RELAY);
    const sdk = new Client({ name: "governed-mcp-bench", version: "1.0.0" });
    const transport = new StdioClientTransport({ ...SERVER, env: env("sdk"), stderr: "pipe" });
    let stderr = "";
    transport.stderr?.on("data", (chunk: Buffer) => (stderr = `${stderr}${chunk.toString("utf8")}`.slice(-2000)));
    await sdk.connect(transport).catch((err: unknown) => {
      throw new Error(`the stdio server did not start: ${String(err)}; stderr: ${stderr.trim()}`);
    });
    let withSdk;
    try {
      withSdk = await versusDirect(async () => {
        const result = await sdk.callTool({ name: "query_sales_data", arguments: SALES_ARGS });
        if (result.isError) throw new Error(`stdio call failed: ${JSON.stringify(result.content).slice(0, 300)}`);
      });
    } finally {
      await sdk.close();
    }
    const r = throughput(minimal.a) / throughput(minimal.b);
    const perCall = (seconds: number | undefined, calls: number) => ms(((seconds ?? Number.NaN) * 1000) / calls, 3);
    return [
      {
        benchmark: "stdio (c=1)",
        figure: "throughput stdio MCP / direct",
        measured: ratio(r, 0.8),
        target: "≥ 0.80",
        pass: r >= 0.8 && minimal.a.errors + minimal.b.errors === 0,
        detail: describe(minimal, "minimal line client, compiled server on every CPU"),
      },
      {
        benchmark: "stdio (c=1)",
        figure: "stdio server CPU per call (all its threads)",
        measured: perCall(metered.a.cpuSeconds?.[0], metered.a.calls),
        target: "report",
        detail: `workspace+PostgreSQL ${perCall(metered.a.cpuSeconds?.[1], metered.a.calls)} per stdio call (audit INSERTs included) vs ${perCall(metered.b.cpuSeconds?.[1], metered.b.calls)} direct; after ${serverWarmup(options)} warm-up calls, ${CPU_BLOCKS} alternated blocks per arm`,
      },
      {
        benchmark: "stdio (c=1)",
        figure: "throughput of a bare stdio relay / direct (the floor)",
        measured: ratio(throughput(floor.a) / throughput(floor.b)),
        target: "report",
        detail: describe(floor, "no validation, identity, policy or audit: the process and pipe hops alone"),
      },
      {
        benchmark: "stdio (c=1)",
        figure: "throughput of the relay with the audit contract alone / direct",
        measured: ratio(throughput(audited.a) / throughput(audited.b)),
        target: "report",
        detail: describe(
          audited,
          "intent appended before the statement and on disk before the answer, outcome appended before it; no table writer",
        ),
      },
      {
        benchmark: "stdio (c=1)",
        figure: "throughput stdio MCP / direct, with the SDK client",
        measured: ratio(throughput(withSdk.a) / throughput(withSdk.b)),
        target: "report",
        detail: describe(withSdk, "the SDK client's own parsing and validation included"),
      },
    ];
  } finally {
    await direct.close();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}
