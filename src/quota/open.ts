import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { systemClock, type Clock } from "../clock.js";
import { ConfigError } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { QuotaGate } from "./quota-gate.js";
import { registerQuotaMetrics } from "./quota-metrics.js";
import { QuotaStore } from "./quota-store.js";
import { CallerLimits } from "./schema.js";

/**
 * The server's quota gate on the configured store, its metrics in `registry` when metrics are on. `catalogLimits`
 * are the tool catalog's per-tool `limits`, which win over `quota.tools` for their tool.
 */
export function openQuotaGate(
  config: Config,
  logger: Logger,
  registry?: Registry,
  options: { clock?: Clock; catalogLimits?: Readonly<Record<string, unknown>> } = {},
): QuotaGate {
  const catalogLimits = parseCatalogLimits(options.catalogLimits ?? {});
  const store = QuotaStore.open(config.quota, logger, options.clock ?? systemClock);
  const gate = new QuotaGate(config.quota, store, {
    catalogLimits,
    callersRemembered: config.identity.tokenCache.maxEntries,
  });
  if (registry) registerQuotaMetrics(registry, gate);
  if (config.quota.store !== "memory")
    logger.info({ replicas: config.quota.replicas }, "quotas are counted in the shared PostgreSQL store");
  return gate;
}

/** A tool catalog's per-tool `limits`, checked once at start: a wrong one stops the server naming the tool. */
export function parseCatalogLimits(byTool: Readonly<Record<string, unknown>>): Record<string, CallerLimits> {
  const out: Record<string, CallerLimits> = {};
  for (const [tool, limits] of Object.entries(byTool)) {
    const parsed = CallerLimits.safeParse(limits);
    if (!parsed.success)
      throw new ConfigError(
        `The catalog entry ${tool}: limits take requestsPerMinute and concurrentCalls (whole numbers, 0 for none); ${parsed.error.issues[0]!.message}.`,
      );
    out[tool] = parsed.data;
  }
  return out;
}

/** The `limits` of each entry of a raw tool catalog (`{ tools: [{ name, limits? }] }`), by tool name. */
export function catalogLimitsOf(raw: unknown): Record<string, unknown> {
  const tools = (raw as { tools?: unknown } | undefined)?.tools;
  const out: Record<string, unknown> = {};
  if (!Array.isArray(tools)) return out;
  for (const tool of tools as { name?: unknown; limits?: unknown }[])
    if (typeof tool?.name === "string" && tool.limits !== undefined) out[tool.name] = tool.limits;
  return out;
}
