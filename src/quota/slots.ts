import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { Clock } from "../clock.js";

/** A held slot; release is idempotent. */
export interface Slot {
  release(): Promise<void>;
}

/** Counters of calls running at once: a slot is taken atomically if fewer than `limit` are held, else refused. */
export interface SlotStore {
  acquire(key: string, limit: number, leaseMs: number): Promise<Slot | undefined>;
}

/** Slots in this process's memory. */
export class MemorySlots implements SlotStore {
  private readonly held = new Map<string, number>();

  acquire(key: string, limit: number): Promise<Slot | undefined> {
    const now = this.held.get(key) ?? 0;
    if (now >= limit) return Promise.resolve(undefined);
    this.held.set(key, now + 1);
    let released = false;
    return Promise.resolve({
      release: () => {
        if (!released) {
          released = true;
          const left = (this.held.get(key) ?? 1) - 1;
          if (left > 0) this.held.set(key, left);
          else this.held.delete(key);
        }
        return Promise.resolve();
      },
    });
  }
}

export const SLOTS_TABLE = "mcp_quota_slots";
export const ACQUIRE_FUNCTION = "mcp_quota_acquire";

/**
 * The shared slots' schema: one row per held slot with a lease, and one function that takes a slot under a
 * transaction-scoped advisory lock on the key, so concurrent acquirers on any replica are serialised per key and the
 * count they see includes every committed slot. Expired leases (a replica that crashed holding slots) are dropped
 * before counting.
 */
export const SLOTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS ${SLOTS_TABLE} (
  key varchar(255) NOT NULL,
  holder uuid NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (key, holder)
);
CREATE OR REPLACE FUNCTION ${ACQUIRE_FUNCTION}(p_key text, p_holder uuid, p_limit int, p_now bigint, p_expires bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE held int;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 0));
  DELETE FROM ${SLOTS_TABLE} WHERE key = p_key AND expires_at <= p_now;
  SELECT count(*) INTO held FROM ${SLOTS_TABLE} WHERE key = p_key;
  IF held >= p_limit THEN
    RETURN false;
  END IF;
  INSERT INTO ${SLOTS_TABLE} (key, holder, expires_at) VALUES (p_key, p_holder, p_expires);
  RETURN true;
END
$$;`;

/**
 * Slots in PostgreSQL, shared by every replica. Leases are stamped with the replica's clock (replica clocks agree to
 * within NTP's error, far below a lease), so a crashed replica's slots come back once its leases pass.
 */
export class PostgresSlots implements SlotStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
  ) {}

  async acquire(key: string, limit: number, leaseMs: number): Promise<Slot | undefined> {
    const holder = randomUUID();
    const now = this.clock.now();
    const { rows } = await this.pool.query<{ ok: boolean }>({
      name: "mcp-quota-acquire",
      text: `SELECT ${ACQUIRE_FUNCTION}($1, $2, $3, $4, $5) AS ok`,
      values: [key, holder, limit, now, now + leaseMs],
    });
    if (!rows[0]?.ok) return undefined;
    let released: Promise<void> | undefined;
    return {
      release: () =>
        (released ??= this.pool
          .query({
            name: "mcp-quota-release",
            text: `DELETE FROM ${SLOTS_TABLE} WHERE key = $1 AND holder = $2`,
            values: [key, holder],
          })
          .then(() => undefined)),
    };
  }
}
