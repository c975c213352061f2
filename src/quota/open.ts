import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { systemClock, type Clock } from "../clock.js";
import type { Config } from "../config/schema.js";
import { QuotaGate } from "./quota-gate.js";
import { registerQuotaMetrics } from "./quota-metrics.js";
import { QuotaStore } from "./quota-store.js";

/** The server's quota gate on the configured store, its metrics in `registry` when metrics are on. */
export function openQuotaGate(
  config: Config,
  logger: Logger,
  registry?: Registry,
  clock: Clock = systemClock,
): QuotaGate {
  const store = QuotaStore.open(config.quota, logger, clock);
  const timeouts = config.timeouts as Record<string, number | undefined>;
  const gate = new QuotaGate(config.quota, store, (tool) => timeouts[tool] ?? 120_000);
  if (registry) registerQuotaMetrics(registry, gate);
  if (config.quota.store !== "memory")
    logger.info({ replicas: config.quota.replicas }, "quotas are counted in the shared PostgreSQL store");
  return gate;
}
