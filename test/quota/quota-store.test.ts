import pg from "pg";
import type { Logger } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgresCluster, type PostgresCluster } from "../../emulator/postgres/cluster.js";
import { systemClock, type Clock } from "../../src/clock.js";
import { QuotaStore } from "../../src/quota/quota-store.js";
import { QuotaGate } from "../../src/quota/quota-gate.js";
import { QuotaSchema } from "../../src/quota/schema.js";
import { FakeClock } from "../support/fake-clock.js";
import { startTcpProxy } from "../support/tcp-proxy.js";

let cluster: PostgresCluster;
const stores: QuotaStore[] = [];
beforeAll(async () => {
  cluster = await startPostgresCluster();
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await cluster?.stop();
});

/** A logger that keeps what was logged at warn and error, by message. */
function recordingLogger() {
  const lines: { level: string; msg: string; fields: unknown }[] = [];
  const at =
    (level: string) =>
    (fields: unknown, msg?: string): void =>
      void lines.push({ level, msg: typeof fields === "string" ? fields : (msg ?? ""), fields });
  const logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") } as unknown as Logger;
  return { logger, lines };
}

function open(url: string, settings: Record<string, unknown> = {}, clock: Clock = systemClock, logger?: Logger) {
  const config = QuotaSchema.parse({ store: url, ...settings });
  const store = QuotaStore.open(config, logger ?? recordingLogger().logger, clock);
  stores.push(store);
  return store;
}

describe("quota counters in a shared PostgreSQL store", () => {
  it("three replicas taking points at once from one bucket admit exactly its limit in total", async () => {
    const replicas = [open(cluster.url()), open(cluster.url()), open(cluster.url())];
    const verdicts = await Promise.all(
      Array.from({ length: 90 }, (_, i) => replicas[i % 3]!.take("c:shared-rate", 25)),
    );
    expect(verdicts.filter((v) => v.admitted)).toHaveLength(25);
    const refused = verdicts.filter((v) => !v.admitted);
    expect(refused.every((v) => v.msBeforeNext > 0 && v.msBeforeNext <= 60_000)).toBe(true);
    expect(replicas.every((r) => !r.usingLocal && r.faults === 0)).toBe(true);
  });

  it("a caller whose bucket is spent is refused without another trip to the store (a flood costs the store nothing)", async () => {
    const proxy = await startTcpProxy(cluster.port);
    const store = open(cluster.url().replace(`:${cluster.port}/`, `:${proxy.port}/`));
    const verdicts = await Promise.all(Array.from({ length: 5 }, () => store.take("c:spent", 3)));
    expect(verdicts.filter((v) => v.admitted)).toHaveLength(3);
    await proxy.cut();
    // Were these to reach the store, they would fail and fall back to the local share (which would admit).
    const flood = await Promise.all(Array.from({ length: 50 }, () => store.take("c:spent", 3)));
    expect(flood.every((v) => !v.admitted && v.msBeforeNext > 0)).toBe(true);
    expect((await store.peek("c:spent", 3)).admitted).toBe(false);
    expect(store.faults).toBe(0);
    await proxy.close();
  });

  it("three replicas racing for slots hold exactly the limit at once, and a released slot is taken again", async () => {
    const replicas = [open(cluster.url()), open(cluster.url()), open(cluster.url())];
    const slots = await Promise.all(
      Array.from({ length: 30 }, (_, i) => replicas[i % 3]!.acquire("u:race", 4, 60_000)),
    );
    const held = slots.filter((s) => s !== undefined);
    expect(held).toHaveLength(4);
    expect(await replicas[0]!.acquire("u:race", 4, 60_000)).toBeUndefined();
    await held[0]!.release();
    await held[0]!.release(); // idempotent: gives back one slot, not two
    const again = await Promise.all(replicas.map((r) => r.acquire("u:race", 4, 60_000)));
    expect(again.filter((s) => s !== undefined)).toHaveLength(1);
  });

  it("taking a slot waits for a concurrent taker's transaction on the same key, so both never see the same count", async () => {
    const replica = open(cluster.url(), { storeTimeoutMs: 30_000 });
    await replica.take("c:schema-ready", 1);
    // Another replica, mid-way through taking the last slot: its transaction has counted and inserted, not committed.
    const other = new pg.Client({ connectionString: cluster.url() });
    await other.connect();
    try {
      await other.query("BEGIN");
      const now = Date.now();
      const taken = await other.query("SELECT mcp_quota_acquire($1, gen_random_uuid(), 1, $2, $3) AS ok", [
        "u:held",
        now,
        now + 60_000,
      ]);
      expect(taken.rows[0].ok).toBe(true);
      const mine = replica.acquire("u:held", 1, 60_000);
      let raced = false;
      const waiting = async () => {
        while (!raced) {
          const { rows } = await other.query(
            "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
          );
          if (rows[0].n > 0) return "waiting" as const;
          await new Promise((r) => setImmediate(r));
        }
        return "stopped" as const;
      };
      const first = await Promise.race([mine.then(() => "answered" as const), waiting()]);
      raced = true;
      // Without the per-key lock this taker would count zero committed slots and take a second one at once.
      expect(first).toBe("waiting");
      await other.query("COMMIT");
      expect(await mine).toBeUndefined();
    } finally {
      await other.end();
    }
  });

  it("a call's slot is leased for its own deadline plus 30 s, so a live call never loses its slot", async () => {
    const clock = new FakeClock(Date.now());
    const config = QuotaSchema.parse({ store: cluster.url(), caller: { concurrentCalls: 1, requestsPerMinute: 0 } });
    const crashed = new QuotaGate(config, QuotaStore.open(config, recordingLogger().logger, clock), {
      callersRemembered: 10,
    });
    const survivor = new QuotaGate(config, QuotaStore.open(config, recordingLogger().logger, clock), {
      callersRemembered: 10,
    });
    stores.push(crashed.store, survivor.store);
    const who = { mode: "obo", source: "bearer", human: "lease@example.com", scopes: [] } as const;
    await crashed.admit({ ...who, scopes: [] }, "genie_query", 120_000); // never released: its replica "crashed"
    await clock.advance(149_999);
    await expect(survivor.admit({ ...who, scopes: [] }, "genie_query", 120_000)).rejects.toThrow(/caller_concurrency/);
    await clock.advance(1);
    await expect(survivor.admit({ ...who, scopes: [] }, "genie_query", 120_000)).resolves.toBeTypeOf("function");
  });

  it("slots of a replica that crashed holding them come back once their leases pass", async () => {
    const clock = new FakeClock(Date.now());
    const crashed = open(cluster.url(), {}, clock);
    const survivor = open(cluster.url(), {}, clock);
    expect(await crashed.acquire("u:lease", 1, 90_000)).toBeDefined();
    await crashed.close(); // never released
    expect(await survivor.acquire("u:lease", 1, 90_000)).toBeUndefined();
    await clock.advance(89_999);
    expect(await survivor.acquire("u:lease", 1, 90_000)).toBeUndefined();
    await clock.advance(1);
    expect(await survivor.acquire("u:lease", 1, 90_000)).toBeDefined();
  });

  it("with the store cut off, a replica keeps its share of each limit, logs once, counts faults, and returns when it is back", async () => {
    const proxy = await startTcpProxy(cluster.port);
    const url = cluster.url().replace(`:${cluster.port}/`, `:${proxy.port}/`);
    const clock = new FakeClock(Date.now());
    const { logger, lines } = recordingLogger();
    const store = open(url, { replicas: 3, storeRetryMs: 5000, storeTimeoutMs: 2000 }, clock, logger);
    // Before the fault: counted in the store.
    for (let i = 0; i < 4; i += 1) expect((await store.take("c:fault", 30)).admitted).toBe(true);
    expect(store.usingLocal).toBe(false);

    await proxy.cut();
    const during = await Promise.all(Array.from({ length: 20 }, () => store.take("c:fault", 30)));
    // Never unlimited: this replica's share is 30 / 3 replicas.
    expect(during.filter((v) => v.admitted)).toHaveLength(10);
    expect(store.usingLocal).toBe(true);
    expect(store.fallbacks).toBe(1);
    expect(store.faults).toBeGreaterThanOrEqual(1);
    expect(await store.acquire("u:fault-slots", 6, 60_000)).toBeDefined(); // local share 6 / 3 = 2
    expect(await store.acquire("u:fault-slots", 6, 60_000)).toBeDefined();
    expect(await store.acquire("u:fault-slots", 6, 60_000)).toBeUndefined();
    expect(lines.filter((l) => l.level === "error")).toHaveLength(1);
    expect(lines[0]!.msg).toMatch(/quota store unavailable/);
    expect(JSON.stringify(lines)).not.toContain(cluster.password);

    await proxy.restore();
    // Until the retry time, the replica stays on its local share without touching the store.
    expect((await store.take("c:fault", 30)).admitted).toBe(false);
    await clock.advance(5000);
    const back = await store.take("c:fault", 30);
    expect(back.admitted).toBe(true); // the store's bucket: 4 taken before the fault, this is the 5th
    expect(store.usingLocal).toBe(false);
    expect(lines.filter((l) => l.level === "warn").map((l) => l.msg)).toEqual([
      "quota store is back: counting on the shared store again",
    ]);
    const rest = await Promise.all(Array.from({ length: 30 }, () => store.take("c:fault", 30)));
    expect(rest.filter((v) => v.admitted)).toHaveLength(25);
    await proxy.close();
  });

  it("a store unreachable from the start answers from local limits at once instead of failing start-up", async () => {
    const proxy = await startTcpProxy(cluster.port);
    await proxy.cut();
    const url = cluster.url().replace(`:${cluster.port}/`, `:${proxy.port}/`);
    const store = open(url, { replicas: 2 });
    const verdicts = await Promise.all(Array.from({ length: 6 }, () => store.take("c:never-up", 4)));
    expect(verdicts.filter((v) => v.admitted)).toHaveLength(2);
    expect(store.usingLocal).toBe(true);
    await proxy.close();
  });
});
