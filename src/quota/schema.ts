import { z } from "zod";

/** A limit of 0 turns that limit off; absent, the level above decides. */
const limitValue = z.number().int().min(0);

/** Limits on one caller: requests per minute and calls at once. */
export const CallerLimits = z
  .object({
    requestsPerMinute: limitValue.optional().describe("Tool calls a caller may start per minute."),
    concurrentCalls: limitValue.optional().describe("Tool calls a caller may have running at once."),
  })
  .strict();
export type CallerLimits = z.infer<typeof CallerLimits>;

/** Where quota counters live: this process's memory, or a PostgreSQL database every replica shares. */
const storeUrl = z.string().refine((url) => url === "memory" || /^postgres(ql)?:\/\//.test(url), {
  message: "MCP_QUOTA_STORE must be 'memory' or a postgres:// URL (Redis and Valkey are not supported yet)",
});

/** One upstream of the workspace that every caller shares, and the tools that reach it; defaults per upstream. */
function upstream(defaults: { requestsPerMinute: number; inFlight: number; tools: string[] }) {
  return z
    .object({
      requestsPerMinute: limitValue
        .default(defaults.requestsPerMinute)
        .describe("Calls of its tools per minute, workspace-wide (0: none)."),
      inFlight: limitValue
        .default(defaults.inFlight)
        .describe("Calls of its tools running at once, workspace-wide (0: none)."),
      tools: z
        .array(z.string().min(1))
        .default(defaults.tools)
        .describe("Tools whose calls count against this upstream."),
    })
    .strict()
    .prefault({});
}
const Upstream = upstream({ requestsPerMinute: 0, inFlight: 0, tools: [] });
export type Upstream = z.infer<typeof Upstream>;

/**
 * Defaults sized for a small workspace: Genie's documented best effort of 5 questions per minute, one SQL warehouse
 * cluster's 10 queries at once, and per caller a pace one agent rarely needs to exceed (60 a minute, 4 at once).
 */
export const QuotaSchema = z
  .object({
    store: storeUrl.default("memory").describe("MCP_QUOTA_STORE: 'memory' (one process) or a postgres:// URL."),
    replicas: z
      .number()
      .int()
      .positive()
      .default(1)
      .describe("MCP_QUOTA_REPLICAS: replicas sharing the store; each keeps limit/replicas while the store is down."),
    storeTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(2000)
      .describe("MCP_QUOTA_STORE_TIMEOUT_MS: longest wait for the store before this replica uses its local limits."),
    storeRetryMs: z
      .number()
      .int()
      .positive()
      .default(5000)
      .describe(
        "MCP_QUOTA_STORE_RETRY_MS: after a store fault, how long this replica uses local limits before trying the store again.",
      ),
    caller: z
      .object({
        requestsPerMinute: limitValue.default(60).describe("Tool calls a caller may start per minute (0: none)."),
        concurrentCalls: limitValue.default(4).describe("Tool calls a caller may have running at once (0: none)."),
      })
      .strict()
      .prefault({})
      .describe("Limits of every caller unless its role says otherwise."),
    roles: z.record(z.string(), CallerLimits).default({}).describe("Per role: replaces the caller limits."),
    tools: z
      .record(z.string(), CallerLimits)
      .default({})
      .describe("Per tool: a separate per-caller bucket for calls of that tool, besides the caller's own."),
    upstreams: z
      .object({
        genie: upstream({ requestsPerMinute: 5, inFlight: 0, tools: ["genie_query"] }),
        sql: upstream({
          requestsPerMinute: 0,
          inFlight: 10,
          tools: ["query_sales_data", "query_audit_log", "get_region_summary"],
        }),
      })
      .catchall(Upstream)
      .prefault({})
      .describe("Workspace-wide limits per upstream (Genie questions per minute, statements in flight)."),
  })
  .prefault({});
export type QuotaConfig = z.infer<typeof QuotaSchema>;
