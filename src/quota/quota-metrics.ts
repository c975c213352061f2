import { Counter, Gauge, type Registry } from "prom-client";
import type { QuotaGate } from "./quota-gate.js";

/**
 * Quota metrics, read from the gate at scrape time: refusals per limit (names come from configuration, never from a
 * caller), whether this replica is on its local limits, and the store's faults.
 */
export function registerQuotaMetrics(registry: Registry, gate: QuotaGate): void {
  new Counter({
    name: "mcp_quota_refusals_total",
    help: "Tool calls refused with RATE_LIMITED by a quota of this server, by the limit that fired.",
    labelNames: ["limit"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [limit, count] of gate.refusals) this.inc({ limit }, count);
    },
  });
  new Gauge({
    name: "mcp_quota_store_local",
    help: "1 while this replica counts on its share of each limit because the shared quota store failed, else 0.",
    registers: [registry],
    collect() {
      this.set(gate.store.usingLocal ? 1 : 0);
    },
  });
  new Counter({
    name: "mcp_quota_store_faults_total",
    help: "Quota store operations that failed and were answered from this replica's local limits.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(gate.store.faults);
    },
  });
  new Counter({
    name: "mcp_quota_store_fallbacks_total",
    help: "Times this replica switched to its local limits because the shared quota store failed.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(gate.store.fallbacks);
    },
  });
}
