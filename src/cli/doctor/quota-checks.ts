/** The quota store: reachable, and able to hold the quota tables (docs/quotas.md). */
import pg from "pg";
import type { Config } from "../../config/schema.js";
import { RATES_TABLE } from "../../quota/rate-buckets.js";
import { SLOTS_TABLE } from "../../quota/slots.js";
import { short, type DoctorCheck } from "./report.js";

/** What went wrong, without the URL (it may hold a password). */
const why = (err: unknown) =>
  short(
    String((err as { code?: unknown }).code ?? (err as Error).message).replace(/postgres(ql)?:\/\/\S+/g, "(store)"),
    120,
  );

export async function checkQuotaStore(config: Config, timeoutMs: number, add: (c: DoctorCheck) => void): Promise<void> {
  const { store, replicas } = config.quota;
  if (store === "memory") {
    add(
      replicas > 1
        ? {
            name: "quota store",
            status: "warn",
            detail: `in memory, yet MCP_QUOTA_REPLICAS is ${replicas}: each replica counts alone`,
            fix: "Set MCP_QUOTA_STORE to a postgres:// URL every replica reaches.",
          }
        : { name: "quota store", status: "ok", detail: "in memory (one process)" },
    );
    return;
  }
  const client = new pg.Client({
    connectionString: store,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ ready: boolean; can_create: boolean }>(
      `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS ready,
              has_schema_privilege(current_schema(), 'CREATE') AS can_create`,
      [RATES_TABLE, SLOTS_TABLE],
    );
    const { ready, can_create } = rows[0]!;
    add(
      ready || can_create
        ? {
            name: "quota store",
            status: "ok",
            detail: `PostgreSQL answered; the quota tables ${ready ? "exist" : "will be created at first use"}`,
          }
        : {
            name: "quota store",
            status: "fail",
            detail: "PostgreSQL answered, but the quota tables do not exist and this user may not create them",
            fix: "Grant CREATE on the schema to the MCP_QUOTA_STORE user once, or create the tables (docs/quotas.md).",
          },
    );
  } catch (err) {
    add({
      name: "quota store",
      status: "fail",
      detail: `the PostgreSQL store did not answer (${why(err)}); replicas would count on local shares`,
      fix: "Check MCP_QUOTA_STORE (host, port, user, password, database) and the network path to it.",
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}
