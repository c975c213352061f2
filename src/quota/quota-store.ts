import pg from "pg";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import { RateBuckets, RATES_TABLE, type RateVerdict } from "./rate-buckets.js";
import { MemorySlots, PostgresSlots, SLOTS_SCHEMA, type Slot, type SlotStore } from "./slots.js";
import type { QuotaConfig } from "./schema.js";

interface Counters {
  rates: RateBuckets;
  slots: SlotStore;
}

/** One lock id for creating the schema, so replicas starting together do not race on CREATE. */
const SCHEMA_LOCK = 0x6d6370_71756f74;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${RATES_TABLE} (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint);
${SLOTS_SCHEMA}`;

/** What the store side exposes to metrics. */
export interface QuotaStoreCounters {
  /** True while this replica counts on its local limits because the shared store failed. */
  readonly usingLocal: boolean;
  /** Operations the shared store failed (each one answered from local limits instead). */
  readonly faults: number;
  /** Times this replica switched to local limits. */
  readonly fallbacks: number;
}

/**
 * Where the counters are: memory alone, or a shared PostgreSQL store with local limits scaled by the replica count
 * behind it. A store fault (unreachable, timed out, any error) answers from the local limits at once, logs once,
 * and after `storeRetryMs` one call probes the store again; its success returns every call to the store.
 */
export class QuotaStore implements QuotaStoreCounters {
  faults = 0;
  fallbacks = 0;
  private downUntil: number | undefined;
  private probing = false;
  /** The schema's creation, shared by every call that needs it (one per store start, again after a fault). */
  private schema: Promise<void> | undefined;

  private constructor(
    private readonly config: QuotaConfig,
    private readonly local: Counters,
    private readonly shared: (Counters & { pool: pg.Pool }) | undefined,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  static open(config: QuotaConfig, logger: Logger, clock: Clock): QuotaStore {
    const local = { rates: RateBuckets.inMemory(), slots: new MemorySlots() };
    if (config.store === "memory") return new QuotaStore(config, local, undefined, logger, clock);
    const pool = new pg.Pool({
      connectionString: config.store,
      max: 10,
      connectionTimeoutMillis: config.storeTimeoutMs,
      query_timeout: config.storeTimeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: "databricks-governed-mcp quotas",
    });
    // An idle connection dropped by the server must not crash the process; the next query finds the fault.
    pool.on("error", () => undefined);
    const shared = { pool, rates: RateBuckets.inPostgres(pool), slots: new PostgresSlots(pool, clock) };
    return new QuotaStore(config, local, shared, logger, clock);
  }

  get usingLocal(): boolean {
    return this.shared !== undefined && this.downUntil !== undefined;
  }

  /** The limit this replica keeps alone while the store is down: its share, at least one, never more than the whole. */
  private localShare(limit: number): number {
    return this.shared ? Math.max(1, Math.floor(limit / this.config.replicas)) : limit;
  }

  take(key: string, perMinute: number): Promise<RateVerdict> {
    return this.run(
      (s) => s.rates.take(key, perMinute),
      () => this.local.rates.take(key, this.localShare(perMinute)),
    );
  }

  peek(key: string, perMinute: number): Promise<RateVerdict> {
    return this.run(
      (s) => s.rates.peek(key, perMinute),
      () => this.local.rates.peek(key, this.localShare(perMinute)),
    );
  }

  acquire(key: string, limit: number, leaseMs: number): Promise<Slot | undefined> {
    return this.run(
      (s) => s.slots.acquire(key, limit, leaseMs),
      () => this.local.slots.acquire(key, this.localShare(limit), leaseMs),
    );
  }

  private async run<T>(onShared: (s: Counters) => Promise<T>, onLocal: () => Promise<T>): Promise<T> {
    const { shared } = this;
    if (!shared) return onLocal();
    if (this.downUntil !== undefined && (this.probing || this.clock.now() < this.downUntil)) return onLocal();
    const probe = this.downUntil !== undefined;
    if (probe) this.probing = true;
    try {
      await (this.schema ??= this.createSchema(shared.pool));
      const out = await onShared(shared);
      if (probe) {
        this.downUntil = undefined;
        this.logger.warn("quota store is back: counting on the shared store again");
      }
      return out;
    } catch (err) {
      this.fault(err);
      return onLocal();
    } finally {
      if (probe) this.probing = false;
    }
  }

  private fault(err: unknown): void {
    this.faults += 1;
    // A store that came back empty (or a table dropped) needs its schema again.
    this.schema = undefined;
    const wasDown = this.downUntil !== undefined;
    this.downUntil = this.clock.now() + this.config.storeRetryMs;
    if (wasDown) return;
    this.fallbacks += 1;
    this.logger.error(
      { reason: faultReason(err), replicas: this.config.replicas },
      "quota store unavailable: counting on this replica's share of each limit until it is back",
    );
  }

  private async createSchema(pool: pg.Pool): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`);
      await client.query(SCHEMA);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.shared?.pool.end().catch(() => undefined);
  }
}

/** What went wrong with the store, for the log: the driver's or server's code, else the first line of its message (no URL). */
function faultReason(err: unknown): string {
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === "string") return code;
  return typeof message === "string"
    ? message
        .split("\n")[0]!
        .replace(/postgres(ql)?:\/\/\S+/g, "(store)")
        .slice(0, 120)
    : "unknown";
}
