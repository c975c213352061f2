import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { BenchStack } from "./stack.js";
import { alternate, closedLoop, failures, throughput } from "./load.js";
import { OVERHEAD_USER } from "./overhead.js";
import { ms, quantile, ratio, type Figure } from "./stats.js";
import { DirectStatementClient, SALES_ARGS } from "./wire.js";

/** query_sales_data over stdio (the server spawned as a local developer would, with a workspace token) vs direct, c=1. */
export async function measureStdio(stack: BenchStack, options: { calls: number; warmup: number }): Promise<Figure[]> {
  const { workspace, app } = stack;
  const { access_token } = await workspace.tokens.issue(OVERHEAD_USER, ["all-apis"], 3600);
  const serverSp = workspace.context.seed.servicePrincipals.find((sp) => sp.displayName === "mcp-server-sp")!;
  const spoolDir = mkdtempSync(join(tmpdir(), "governed-mcp-bench-stdio-"));
  const client = new Client({ name: "governed-mcp-bench", version: "1.0.0" });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ["--import", "tsx", "src/cli/main.ts", "--stdio"],
    env: {
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: "silent",
      DATABRICKS_HOST: workspace.baseUrl,
      DATABRICKS_TOKEN: access_token,
      // The audit writer acts as the server's own service principal.
      DATABRICKS_CLIENT_ID: serverSp.applicationId,
      DATABRICKS_CLIENT_SECRET: serverSp.secret,
      DATABRICKS_WAREHOUSE_ID: app.config.workspace.warehouseId,
      MCP_SALES_TABLE: app.config.workspace.salesTable,
      MCP_AUDIT_TABLE: app.config.workspace.auditTable,
      MCP_AUDIT_SPOOL_DIR: spoolDir,
      DATABRICKS_GENIE_SPACE_ID: app.config.workspace.genieSpaceId,
    },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => (stderr = `${stderr}${chunk.toString("utf8")}`.slice(-2000)));
  await client.connect(transport).catch((err: unknown) => {
    throw new Error(`the stdio server did not start: ${String(err)}; stderr: ${stderr.trim()}`);
  });
  const direct = new DirectStatementClient(
    workspace.baseUrl,
    app.config.workspace.warehouseId,
    app.config.workspace.salesTable,
  );
  const authorization = `Bearer ${access_token}`;
  const arms = {
    a: async () => {
      const result = await client.callTool({ name: "query_sales_data", arguments: SALES_ARGS });
      if (result.isError) throw new Error(`stdio call failed: ${JSON.stringify(result.content).slice(0, 300)}`);
    },
    b: () => direct.execute(authorization),
  };
  try {
    await closedLoop(options.warmup, 1, arms.a);
    await closedLoop(options.warmup, 1, arms.b);
    const run = await alternate(options.calls, 1, options.calls, arms);
    const r = throughput(run.a) / throughput(run.b);
    return [
      {
        benchmark: "stdio (c=1)",
        figure: "throughput stdio MCP / direct",
        measured: ratio(r),
        target: "≥ 0.80",
        pass: r >= 0.8 && run.a.errors + run.b.errors === 0,
        detail: `p50 stdio ${ms(quantile(run.a.latencies, 0.5))} vs direct ${ms(quantile(run.b.latencies, 0.5))}; SDK client${failures(run.a, run.b)}`,
      },
    ];
  } finally {
    await client.close();
    await direct.close();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}
