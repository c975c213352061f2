import pg from "pg";
import type { BrokerStore } from "./token-store.js";

const TABLE = "mcp_broker_records";
/** One lock id for creating the table, so replicas starting together do not race on CREATE. */
const SCHEMA_LOCK = 0x6d62_726b;

/**
 * The broker's records in a PostgreSQL database every replica shares (values arrive sealed). Expired records are
 * never returned; a read that meets one removes it.
 */
export class PostgresBrokerStore implements BrokerStore {
  private readonly pool: pg.Pool;
  private schema: Promise<void> | undefined;

  constructor(
    connectionString: string,
    private readonly now: () => number = Date.now,
  ) {
    this.pool = new pg.Pool({
      connectionString,
      max: 5,
      connectionTimeoutMillis: 5000,
      query_timeout: 5000,
      application_name: "databricks-governed-mcp broker",
    });
    // An idle connection the server dropped (restart, failover) must not crash the process: the next query reconnects.
    this.pool.on("error", () => undefined);
  }

  private ready(): Promise<void> {
    this.schema ??= (async () => {
      const client = await this.pool.connect();
      try {
        await client.query("SELECT pg_advisory_lock($1)", [SCHEMA_LOCK]);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${TABLE} (key text PRIMARY KEY, value text NOT NULL, expires_at_ms bigint NOT NULL)`,
        );
        await client.query("SELECT pg_advisory_unlock($1)", [SCHEMA_LOCK]);
      } finally {
        client.release();
      }
    })().catch((err: unknown) => {
      this.schema = undefined;
      throw err;
    });
    return this.schema;
  }

  async get(key: string): Promise<string | undefined> {
    await this.ready();
    const { rows } = await this.pool.query<{ value: string; expires_at_ms: string }>(
      `SELECT value, expires_at_ms FROM ${TABLE} WHERE key = $1`,
      [key],
    );
    const row = rows[0];
    if (row && Number(row.expires_at_ms) <= this.now()) {
      await this.delete(key);
      return undefined;
    }
    return row?.value;
  }

  async set(key: string, value: string, expiresAtMs: number): Promise<void> {
    await this.ready();
    await this.pool.query(
      `INSERT INTO ${TABLE} (key, value, expires_at_ms) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at_ms = EXCLUDED.expires_at_ms`,
      [key, value, Math.floor(expiresAtMs)],
    );
  }

  async take(key: string): Promise<string | undefined> {
    await this.ready();
    // DELETE … RETURNING: of two replicas taking one code at once, exactly one gets it.
    const { rows } = await this.pool.query<{ value: string; expires_at_ms: string }>(
      `DELETE FROM ${TABLE} WHERE key = $1 RETURNING value, expires_at_ms`,
      [key],
    );
    const row = rows[0];
    return row && Number(row.expires_at_ms) > this.now() ? row.value : undefined;
  }

  async delete(key: string): Promise<void> {
    await this.ready();
    await this.pool.query(`DELETE FROM ${TABLE} WHERE key = $1`, [key]);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
