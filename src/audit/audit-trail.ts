import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { afterTime, cancelTimer, systemClock, type Clock } from "../clock.js";
import type { Config } from "../config/schema.js";
import { ErrorCodes, GovernedError } from "../errors.js";
import type { AuditEntry } from "../mcp/tool-dispatcher.js";
import { buildAuditInsert, cutBatch, recordInsertBytes } from "./audit-insert.js";
import { DeadLetterFile } from "./dead-letter.js";
import { boundedArguments, boundedText, carriedBytes } from "./record-bounds.js";
import { AuditSpool, type SpooledRecord } from "./spool.js";
import { classifyWriteFailure } from "./write-failure.js";

export type StatementExecutor = (
  statement: string,
  parameters: { name: string; value: string | null; type?: string }[],
) => Promise<void>;

/**
 * Tool calls are refused once the spool reaches its configured bound; records of calls already admitted and refusals
 * at the door may still take this much more (they are few: in-flight calls, and refusals folded per source and minute),
 * so no admitted call loses its record. Past it nothing more is spooled; each such record is logged and counted.
 */
const HEADROOM = 1.25;

/** Room for a record's statement ids as the INSERT carries them; a call causing more is rare, and the row says so. */
const STATEMENT_IDS_BYTES = 2048;

function statementIdsColumn(ids: readonly string[]): string {
  const kept: string[] = [];
  for (const [i, id] of ids.entries()) {
    const next = [...kept, boundedText(id, 64)!];
    // Room is left for the count of ids that did not fit.
    if (carriedBytes(JSON.stringify([...next, `…${ids.length} more`])) > STATEMENT_IDS_BYTES) {
      kept.push(`…${ids.length - i} more`);
      break;
    }
    kept.push(next.at(-1)!);
  }
  return JSON.stringify(kept);
}

const wholeOrNull = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? null : Math.trunc(n));

export interface AuditTrailOptions {
  /** Time for event times, the flush interval and backoff; the system clock unless a test gives another. */
  clock?: Clock;
}

/** Every tool call's record: durable in the local spool before the result is sent, then batched into the table. */
export class AuditTrail {
  private readonly spool: AuditSpool;
  private readonly deadLetter: DeadLetterFile;
  private readonly clock: Clock;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private backingOff = false;
  /** The failure last logged while batches could not be written; undefined once one is written again. */
  private outageCause?: string;
  /** Records per INSERT now: halved while a refused batch is being narrowed down to the record at fault. */
  private batchLimit: number;
  /** The last batch was refused once: it is sent once more before it is split. */
  private refusedOnce = false;
  /** Records the workspace refused even alone, set aside in the dead-letter file. */
  deadLetters = 0;
  /** Tool calls refused because the spool was full. */
  refusedCalls = 0;
  /** Records not spooled because the spool was full beyond its headroom (each one logged). */
  unspooledRecords = 0;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly execute: StatementExecutor,
    options: AuditTrailOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.spool = new AuditSpool(config.audit.spoolDir);
    this.deadLetter = new DeadLetterFile(config.audit.spoolDir);
    this.batchLimit = config.audit.batchSize;
  }

  depth(): number {
    return this.spool.depth();
  }

  /** Bytes of the records waiting for the table. */
  spoolBytes(): number {
    return this.spool.bytes();
  }

  private fullBeyond(factor: number): boolean {
    const { maxSpoolRecords, maxSpoolBytes } = this.config.audit;
    return this.spool.depth() >= maxSpoolRecords * factor || this.spool.bytes() >= maxSpoolBytes * factor;
  }

  /**
   * Whether a new tool call may start. When the spool is full it may not, and the refusal is logged and counted here
   * rather than spooled: spooling refusals would fill the very spool they are refused for.
   */
  admit(call: { requestId: string; tool: string }): boolean {
    if (!this.fullBeyond(1)) return true;
    this.refusedCalls += 1;
    this.logger.error(
      {
        requestId: call.requestId,
        tool: boundedText(call.tool, 128),
        depth: this.spool.depth(),
        bytes: this.spool.bytes(),
        refusedCalls: this.refusedCalls,
      },
      "audit spool full: tool call refused with AUDIT_UNAVAILABLE, not audited in the table",
    );
    return false;
  }

  /** Builds the one audit record of a call or refusal, bounded in size whatever came in, and spools it durably. */
  async record(entry: AuditEntry): Promise<void> {
    if (this.fullBeyond(HEADROOM)) {
      this.unspooledRecords += 1;
      this.logger.error(
        { requestId: boundedText(entry.requestId, 128), outcome: entry.outcome, errorCode: entry.errorCode },
        "audit spool full beyond its headroom: record not spooled",
      );
      throw new GovernedError(
        ErrorCodes.AUDIT_UNAVAILABLE,
        "The audit trail cannot take another record now, so this answer is withheld.",
        { retryAfterS: 30, hint: "Retry later." },
      );
    }
    const record: SpooledRecord = {
      record_id: randomUUID(),
      event_time: new Date(this.clock.now()).toISOString(),
      request_id: boundedText(entry.requestId, 128),
      mode: boundedText(entry.mode, 64),
      credential_source: boundedText(entry.credentialSource, 64),
      human: boundedText(entry.human, 320),
      workspace_principal: boundedText(entry.workspacePrincipal, 320),
      role: boundedText(entry.role, 128),
      tool: boundedText(entry.tool, 128),
      arguments: "",
      outcome: boundedText(entry.outcome, 32),
      error_code: boundedText(entry.errorCode, 64),
      rows_returned: wholeOrNull(entry.rowsReturned),
      latency_ms: wholeOrNull(entry.latencyMs),
      statement_ids: statementIdsColumn(entry.statementIds),
    };
    // Every other field is capped, so the arguments get what is left of the record's ceiling.
    const budget = this.config.audit.maxRecordBytes - recordInsertBytes(record) + carriedBytes("");
    record.arguments = boundedArguments(entry.arguments, this.config.audit.maxArgumentChars, budget);
    await this.spool.append(record);
    // A full batch is written at once; smaller ones wait for the flush interval, so the table gets one INSERT per
    // interval rather than one per call (the spool already made each record durable). While the table is failing,
    // new records wait for the backoff instead of each forcing another failed write.
    if (!this.backingOff && this.spool.depth() >= this.config.audit.batchSize) this.wake?.();
  }

  /** Writes one batch; false when the workspace could not take it now (it stays spooled, to be retried later). */
  async drainOnce(): Promise<boolean> {
    const batch = cutBatch(this.spool.oldest(), this.batchLimit, this.config.audit.maxBatchBytes);
    if (batch.length === 0) return true;
    const { statement, parameters } = buildAuditInsert(this.config.workspace.auditTable, batch);
    try {
      await this.execute(statement, parameters);
    } catch (err) {
      return this.notWritten(batch, err);
    }
    try {
      await this.spool.ack(batch.map((r) => r.record_id));
    } catch (err) {
      // Written but not acknowledged: the records are sent again later, and the INSERT skips them.
      this.logger.error({ err: { code: (err as { code?: string }).code } }, "audit acknowledgement not written");
      return false;
    }
    this.refusedOnce = false;
    this.batchLimit = Math.min(this.config.audit.batchSize, this.batchLimit * 2);
    if (this.outageCause) this.logger.info({ depth: this.spool.depth() }, "audit batches written again");
    this.outageCause = undefined;
    return true;
  }

  /**
   * An outage keeps every record waiting. A batch the workspace refuses is sent once more, then halved, until the
   * record at fault is alone; refused again, it is set aside in the dead-letter file so the records behind it flow.
   */
  private async notWritten(batch: SpooledRecord[], err: unknown): Promise<boolean> {
    const code = (err as { code?: string }).code;
    const upstreamStatus = (err as { details?: { upstreamStatus?: number } }).details?.upstreamStatus;
    if (classifyWriteFailure(err) === "outage") {
      this.refusedOnce = false;
      // The same cause is named once until a batch gets through again, not on every retry.
      const cause = `${code}|${upstreamStatus}|${(err as Error).message}`;
      if (cause !== this.outageCause)
        this.logger.warn(
          { err: { code, upstreamStatus, message: (err as Error).message }, depth: this.spool.depth() },
          "audit batch not written; kept in the spool (retrying with backoff)",
        );
      this.outageCause = cause;
      return false;
    }
    // The workspace's message may quote a record's values, so only its code and status are logged.
    if (!this.refusedOnce) {
      this.refusedOnce = true;
      this.logger.warn(
        { errorCode: code, upstreamStatus, records: batch.length },
        "audit batch refused; sending it again",
      );
      return true;
    }
    this.refusedOnce = false;
    if (batch.length > 1) {
      this.batchLimit = Math.ceil(batch.length / 2);
      this.logger.warn(
        { errorCode: code, upstreamStatus, records: batch.length, next: this.batchLimit },
        "audit batch refused twice; splitting it",
      );
      return true;
    }
    const record = batch[0]!;
    try {
      await this.deadLetter.add(record, {
        errorCode: code ?? "UNKNOWN",
        upstreamStatus,
        at: new Date(this.clock.now()).toISOString(),
      });
      await this.spool.ack([record.record_id]);
    } catch (writeErr) {
      this.logger.error(
        { recordId: record.record_id, err: { code: (writeErr as { code?: string }).code } },
        "audit record refused by the workspace could not be set aside; kept in the spool",
      );
      return false;
    }
    this.deadLetters += 1;
    this.batchLimit = this.config.audit.batchSize;
    this.logger.error(
      {
        recordId: record.record_id,
        requestId: record.request_id,
        errorCode: code,
        upstreamStatus,
        deadLetters: this.deadLetters,
        file: this.deadLetter.path,
      },
      "audit record refused by the workspace even alone; set aside in the dead-letter file",
    );
    return true;
  }

  /** True while a refused batch is being narrowed down: the next attempt should follow at once. */
  private isolating(): boolean {
    return this.refusedOnce || this.batchLimit < this.config.audit.batchSize;
  }

  async start(): Promise<void> {
    this.running = true;
    this.loop = (async () => {
      let backoff = this.config.audit.flushIntervalMs;
      while (this.running) {
        const ok = await this.drainOnce();
        this.backingOff = !ok;
        backoff = ok ? this.config.audit.flushIntervalMs : Math.min(backoff * 2, 30_000);
        if (ok && this.spool.depth() > 0 && (this.isolating() || this.spool.depth() >= this.config.audit.batchSize))
          continue;
        await new Promise<void>((resolve) => {
          const timer = afterTime(this.clock, backoff, resolve);
          this.wake = () => {
            cancelTimer(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    })();
  }

  /** Stops the writer after a last drain attempt within `deadlineMs`; what is not written stays spooled for the next start. */
  async stop(deadlineMs = 5000): Promise<void> {
    const end = this.clock.now() + deadlineMs;
    this.running = false;
    this.wake?.();
    await this.loop;
    // A last drain backs off too: a workspace refusing the writer's credentials is not asked fifty times.
    for (let pause = 100; this.spool.depth() > 0 && this.clock.now() < end; pause *= 2) {
      if (await this.drainOnce()) pause = 50;
      else await this.clock.sleep(Math.min(pause, Math.max(0, end - this.clock.now())));
    }
    await this.spool.close();
    await this.deadLetter.close();
  }
}
