import { WorkspaceHttpClient } from "../src/databricks/http-client.js";
import { createWorkspaceApi } from "../src/databricks/workspace-api.js";
import type { RemoteStack } from "./remote-workspace.js";
import { settledMemory, withPeakMemory } from "./memory.js";
import { mib, ms, type Figure } from "./stats.js";
import { McpWireClient } from "./wire.js";

const CAP_BYTES = 16 * 1024 * 1024;

/**
 * A statement of `rows` rows through the raw client (every chunk) and through the limit path query_sales_data uses
 * (row_limit = limit + 1), plus query_sales_data itself at its 1,000-row cap: peak heap above a settled baseline.
 * The workspace runs in its own process, so the heap measured is the client's and the server's alone.
 */
export async function measureLargeResults(
  stack: RemoteStack,
  principal: string,
  options: { rows: number },
): Promise<Figure[]> {
  const { app } = stack;
  const access_token = await stack.tokenOf(principal);
  const token = { accessToken: access_token, expiresAt: Math.floor(Date.now() / 1000) + 3600, scopes: ["all-apis"] };
  const http = new WorkspaceHttpClient(stack.workspaceUrl);
  const api = createWorkspaceApi(
    http,
    { token: async () => token },
    { requestId: "bench", queryTags: { tool: "bench" } },
  );
  const statement = `SELECT id, concat('row-', id) AS label FROM generate_series(1, ${options.rows}) AS id`;
  const warehouseId = app.config.workspace.warehouseId;
  const mcp = new McpWireClient(stack.mcpUrl, 4);
  const figures: Figure[] = [];
  const measure = async (work: () => Promise<number>) => {
    const base = settledMemory();
    const started = performance.now();
    const { value, peakHeap, peakRss } = await withPeakMemory(work);
    return {
      rows: value,
      heap: peakHeap - base.heapUsed,
      rss: peakRss - base.rss,
      elapsed: performance.now() - started,
    };
  };
  try {
    const raw = await measure(async () => {
      const r = await api.executeStatement({ warehouseId, statement, parameters: [], rowLimit: options.rows });
      return r.rows.length;
    });
    const capped = await measure(async () => {
      const r = await api.executeStatement({ warehouseId, statement, parameters: [], rowLimit: 1001 });
      return r.rows.length;
    });
    const tool = await measure(async () => {
      const r = await mcp.callTool("query_sales_data", { limit: 1000 }, { authorization: `Bearer ${access_token}` });
      return (r.structuredContent as { row_count: number }).row_count;
    });
    figures.push(
      {
        benchmark: "large results",
        figure: `raw client, ${options.rows} rows in chunks: peak heap above baseline`,
        measured: mib(raw.heap),
        target: "report (holds every row asked for)",
        detail: `${raw.rows} rows in ${ms(raw.elapsed, 0)}; peak rss +${mib(raw.rss)}; not streamed: memory grows with row_limit`,
      },
      {
        benchmark: "large results",
        figure: `limit path (row_limit 1,001) on the ${options.rows}-row statement: peak heap`,
        measured: mib(capped.heap),
        target: `≤ ${mib(CAP_BYTES)} and < raw`,
        pass: capped.rows === 1001 && capped.heap <= CAP_BYTES && capped.heap < raw.heap,
        detail: `${capped.rows} rows in ${ms(capped.elapsed, 0)}; peak rss +${mib(capped.rss)}`,
      },
      {
        benchmark: "large results",
        figure: "query_sales_data limit 1,000 through MCP: peak heap",
        measured: mib(tool.heap),
        target: `≤ ${mib(CAP_BYTES)}`,
        pass: tool.rows === 1000 && tool.heap <= CAP_BYTES,
        detail: `${tool.rows} rows in ${ms(tool.elapsed, 0)}; peak rss +${mib(tool.rss)}`,
      },
    );
  } finally {
    await mcp.close();
    await http.close();
  }
  return figures;
}
