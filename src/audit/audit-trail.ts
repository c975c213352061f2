import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import type { AuditEntry } from "../mcp/tool-dispatcher.js";
import { redactArguments } from "./redact.js";
import { AuditSpool, type SpooledRecord } from "./spool.js";

export type StatementExecutor = (
  statement: string,
  parameters: { name: string; value: string | null; type?: string }[],
) => Promise<void>;

const COLUMNS: [string, string][] = [
  ["record_id", "STRING"],
  ["event_time", "TIMESTAMP"],
  ["request_id", "STRING"],
  ["mode", "STRING"],
  ["credential_source", "STRING"],
  ["human", "STRING"],
  ["workspace_principal", "STRING"],
  ["role", "STRING"],
  ["tool", "STRING"],
  ["arguments", "STRING"],
  ["outcome", "STRING"],
  ["error_code", "STRING"],
  ["rows_returned", "INT"],
  ["latency_ms", "INT"],
  ["statement_ids", "STRING"],
];

/** One INSERT per batch, idempotent: rows whose record_id is already in the table are skipped, so replays never duplicate. */
export function buildAuditInsert(table: string, records: readonly SpooledRecord[]) {
  const parameters: { name: string; value: string | null; type: string }[] = [];
  const tuples = records.map((record, i) => {
    const names = COLUMNS.map(([column, type]) => {
      const name = `r${i}_${column}`;
      const raw = record[column];
      parameters.push({ name, value: raw === undefined || raw === null ? null : String(raw), type });
      return `:${name}`;
    });
    return `(${names.join(", ")})`;
  });
  const columns = COLUMNS.map(([c]) => c).join(", ");
  const statement = `INSERT INTO ${table} (${columns}) SELECT ${columns} FROM (VALUES ${tuples.join(", ")}) AS s(${columns}) WHERE NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.record_id = s.record_id)`;
  return { statement, parameters };
}

/** Caller-supplied text with control characters (a NUL no SQL string can hold) replaced, so no record poisons a batch. */
function printable(value: string | undefined): string | null {
  // eslint-disable-next-line no-control-regex
  return value === undefined ? null : value.replace(/[\u0000-\u001f\u007f]/g, "\ufffd");
}

/** Every tool call's record: durable in the local spool before the result is sent, then batched into the table. */
export class AuditTrail {
  private readonly spool: AuditSpool;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private backingOff = false;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly execute: StatementExecutor,
  ) {
    this.spool = new AuditSpool(config.audit.spoolDir);
  }

  depth(): number {
    return this.spool.depth();
  }

  async record(entry: AuditEntry): Promise<void> {
    await this.spool.append({
      record_id: randomUUID(),
      event_time: new Date().toISOString(),
      request_id: printable(entry.requestId),
      mode: printable(entry.mode),
      credential_source: printable(entry.credentialSource),
      human: printable(entry.human),
      workspace_principal: printable(entry.workspacePrincipal),
      role: printable(entry.role),
      tool: printable(entry.tool),
      arguments: JSON.stringify(redactArguments(entry.arguments ?? {}, this.config.audit.maxArgumentChars)),
      outcome: entry.outcome,
      error_code: entry.errorCode ?? null,
      rows_returned: entry.rowsReturned ?? null,
      latency_ms: entry.latencyMs,
      statement_ids: JSON.stringify(entry.statementIds),
    });
    // A full batch is written at once; smaller ones wait for the flush interval, so the table gets one INSERT per
    // interval rather than one per call (the spool already made each record durable). While the table is failing,
    // new records wait for the backoff instead of each forcing another failed write.
    if (!this.backingOff && this.spool.depth() >= this.config.audit.batchSize) this.wake?.();
  }

  /** Writes one batch; false when the table write failed (the batch stays spooled). */
  async drainOnce(): Promise<boolean> {
    const batch = this.spool.pending(this.config.audit.batchSize);
    if (batch.length === 0) return true;
    const { statement, parameters } = buildAuditInsert(this.config.workspace.auditTable, batch);
    try {
      await this.execute(statement, parameters);
      await this.spool.ack(batch.map((r) => r.record_id));
      return true;
    } catch (err) {
      this.logger.warn(
        { err: { code: (err as { code?: string }).code, message: (err as Error).message }, depth: this.spool.depth() },
        "audit batch not written; kept in the spool",
      );
      return false;
    }
  }

  async start(): Promise<void> {
    this.running = true;
    this.loop = (async () => {
      let backoff = this.config.audit.flushIntervalMs;
      while (this.running) {
        const ok = await this.drainOnce();
        this.backingOff = !ok;
        backoff = ok ? this.config.audit.flushIntervalMs : Math.min(backoff * 2, 30_000);
        if (ok && this.spool.depth() >= this.config.audit.batchSize) continue;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, backoff).unref();
        });
        this.wake = undefined;
      }
    })();
  }

  /** Stops the writer after a last drain attempt within `deadlineMs`; what is not written stays spooled for the next start. */
  async stop(deadlineMs = 5000): Promise<void> {
    const end = Date.now() + deadlineMs;
    this.running = false;
    this.wake?.();
    await this.loop;
    while (this.spool.depth() > 0 && Date.now() < end) {
      if (!(await this.drainOnce())) await sleep(100);
    }
    await this.spool.close();
  }
}
