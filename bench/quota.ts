import pino from "pino";
import { startPostgresCluster } from "../emulator/postgres/cluster.js";
import { systemClock } from "../src/clock.js";
import type { CallerIdentity } from "../src/identity/types.js";
import { QuotaGate, withinQuota } from "../src/quota/quota-gate.js";
import { QuotaStore } from "../src/quota/quota-store.js";
import { QuotaSchema } from "../src/quota/schema.js";
import { median, ms, quantile, type Figure } from "./stats.js";

export interface QuotaOptions {
  checks: number;
  warmup: number;
}

const CALL = { tool: "check_identity", timeoutMs: 15_000 };

/** Limits no run reaches: every check is admitted, so what is measured is the check itself. */
const UNREACHED = { caller: { requestsPerMinute: 1_000_000_000, concurrentCalls: 100_000 } };

/** Per-check latency of `checks` admissions (rate point + concurrency slot + its release), `concurrency` at a time. */
async function latencies(gate: QuotaGate, checks: number, concurrency: number): Promise<number[]> {
  const callers: CallerIdentity[] = Array.from({ length: 64 }, (_, i) => ({
    mode: "obo",
    source: "bearer",
    human: `bench-${i}@example.com`,
    scopes: [],
  }));
  const out: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < checks) {
        const i = next++;
        const t0 = performance.now();
        await withinQuota(gate, callers[i % callers.length]!, CALL, () => Promise.resolve());
        out.push(performance.now() - t0);
      }
    }),
  );
  return out;
}

/**
 * The latency a limit check adds to a tool call: a per-minute point and a concurrency slot taken and given back, with
 * no tool behind them, at c=1 and c=64, counted in memory and in a PostgreSQL store on loopback.
 */
export async function measureQuotaChecks(options: QuotaOptions): Promise<Figure[]> {
  const cluster = await startPostgresCluster();
  const logger = pino({ level: "silent" });
  const figures: Figure[] = [];
  try {
    for (const [where, store] of [
      ["in memory", "memory"],
      ["shared PostgreSQL", cluster.url()],
    ] as const) {
      const config = QuotaSchema.parse({ ...UNREACHED, store });
      const gate = new QuotaGate(config, QuotaStore.open(config, logger, systemClock), { callersRemembered: 100 });
      try {
        await latencies(gate, options.warmup, 8);
        for (const concurrency of [1, 64]) {
          const samples = await latencies(gate, options.checks, concurrency);
          if (gate.store.faults > 0)
            throw new Error(`the quota store failed ${gate.store.faults} time(s) during the run`);
          figures.push({
            benchmark: `quota check (${where}, c=${concurrency})`,
            figure: "added latency per call, p50",
            measured: ms(median(samples), 3),
            target: "information",
            detail: `p99 ${ms(quantile(samples, 0.99), 3)}, ${samples.length} checks`,
          });
        }
      } finally {
        await gate.close();
      }
    }
  } finally {
    await cluster.stop();
  }
  return figures;
}
