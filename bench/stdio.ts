import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { RemoteStack } from "./remote-workspace.js";
import { alternate, closedLoop, failures, throughput, type LoadResult } from "./load.js";
import { OVERHEAD_USER } from "./overhead.js";
import { ms, quantile, ratio, type Figure } from "./stats.js";
import { DirectStatementClient, SALES_ARGS, StdioWireClient } from "./wire.js";

const SERVER = { command: process.execPath, args: ["--import", "tsx", "src/cli/main.ts", "--stdio"] };

/**
 * query_sales_data over stdio (the server spawned as a local developer would, with a workspace token) vs direct,
 * c=1, the workspace in its own process: with a minimal line client (the server's cost, the target) and with the SDK
 * client (what an SDK host adds).
 */
export async function measureStdio(stack: RemoteStack, options: { calls: number; warmup: number }): Promise<Figure[]> {
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
  const versusDirect = async (call: () => Promise<unknown>) => {
    const arms = { a: call, b: () => direct.execute(authorization) };
    await closedLoop(options.warmup, 1, arms.a);
    await closedLoop(options.warmup, 1, arms.b);
    return alternate(options.calls, 1, options.calls, arms);
  };
  const describe = (run: { a: LoadResult; b: LoadResult }, client: string) =>
    `p50 stdio ${ms(quantile(run.a.latencies, 0.5))} vs direct ${ms(quantile(run.b.latencies, 0.5))}; ${client}${failures(run.a, run.b)}`;
  try {
    const wire = await StdioWireClient.start(SERVER.command, SERVER.args, env("wire"));
    let minimal;
    try {
      minimal = await versusDirect(() => wire.callTool("query_sales_data", SALES_ARGS));
    } finally {
      await wire.close();
    }
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
    return [
      {
        benchmark: "stdio (c=1)",
        figure: "throughput stdio MCP / direct",
        measured: ratio(r, 0.8),
        target: "≥ 0.80",
        pass: r >= 0.8 && minimal.a.errors + minimal.b.errors === 0,
        detail: describe(minimal, "minimal line client"),
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
