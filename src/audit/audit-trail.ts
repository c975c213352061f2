import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { afterTime, cancelTimer, systemClock, type Clock } from "../clock.js";
import type { Config } from "../config/schema.js";
import { ErrorCodes, GovernedError } from "../errors.js";
import type { AuditEntry, AuditIntent } from "./audit-entry.js";
import {
  buildAuditInsert,
  columnsInsertBytes,
  cutBatch,
  recordInsertBytes,
  rememberInsertBytes,
} from "./audit-insert.js";
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

/** The most characters of a statement id kept. */
const STATEMENT_ID_CHARS = 64;

/**
 * Ids that fit whatever they hold. The column is JSON text, carried as JSON within the batch's JSON string, so a `\`
 * or `"` in an id is escaped three times over: at most 8 bytes per character (no other character takes more), plus 9
 * for its quotes and comma; room is left for the brackets and the count.
 */
const IDS_THAT_ALWAYS_FIT = Math.floor((STATEMENT_IDS_BYTES - 32) / (STATEMENT_ID_CHARS * 8 + 9));

function statementIdsColumn(ids: readonly string[]): string {
  const all = ids.map((id) => boundedText(id, STATEMENT_ID_CHARS)!);
  // A call causes one statement or a few: their list is kept whole without counting it.
  if (all.length <= IDS_THAT_ALWAYS_FIT) return JSON.stringify(all);
  // All ids with room to spare: every shorter list below would fit as well, so the whole one is kept.
  if (carriedBytes(JSON.stringify([...all, `…${ids.length} more`])) <= STATEMENT_IDS_BYTES) return JSON.stringify(all);
  const kept: string[] = [];
  for (const [i, id] of all.entries()) {
    const next = [...kept, id];
    // Room is left for the count of ids that did not fit.
    if (carriedBytes(JSON.stringify([...next, `…${ids.length} more`])) > STATEMENT_IDS_BYTES) {
      kept.push(`…${ids.length - i} more`);
      break;
    }
    kept.push(id);
  }
  return JSON.stringify(kept);
}

const wholeOrNull = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? null : Math.trunc(n));

/** The columns that say how a call ended (with the record id they belong to). */
function outcomeColumns(entry: AuditEntry, recordId = ""): SpooledRecord {
  return {
    record_id: recordId,
    outcome: boundedText(entry.outcome, 32),
    error_code: boundedText(entry.errorCode, 64),
    rows_returned: wholeOrNull(entry.rowsReturned),
    latency_ms: wholeOrNull(entry.latencyMs),
    statement_ids: statementIdsColumn(entry.statementIds),
  };
}

/** How a begun call's record reads until its outcome joins it, and after a crash that left it without one. */
const UNFINISHED: AuditEntry = {
  requestId: "",
  mode: "",
  credentialSource: "",
  tool: "",
  arguments: null,
  outcome: "unknown",
  latencyMs: Number.NaN,
  statementIds: [],
};

const OUTCOME_COLUMNS: ReadonlySet<string> = new Set([
  "outcome",
  "error_code",
  "rows_returned",
  "latency_ms",
  "statement_ids",
]);

const UNFINISHED_BYTES = columnsInsertBytes(outcomeColumns(UNFINISHED), OUTCOME_COLUMNS);

/** The outcome columns of every intent, the same for all (the record id aside). */
const { record_id: _anyId, ...UNFINISHED_OUTCOME } = outcomeColumns(UNFINISHED);

/** A call whose intent is spooled and whose outcome is not yet. */
interface OpenCall {
  intent: SpooledRecord;
  /** `recordInsertBytes` of the intent. */
  intentBytes: number;
  /** The call's arguments, fitted again should the outcome leave them less room. */
  args: unknown;
  /** Resolves once the intent is on disk. */
  durable: Promise<void>;
}

export interface AuditTrailOptions {
  /** Time for event times, the flush interval and backoff; the system clock unless a test gives another. */
  clock?: Clock;
  /** Makes the spool's data durable; fdatasync unless a test gives another. */
  sync?: (fd: number) => Promise<void>;
}

/** Every tool call's record: durable in the local spool before the result is sent, then batched into the table. */
export class AuditTrail {
  private readonly spool: AuditSpool;
  private readonly deadLetter: DeadLetterFile;
  private readonly clock: Clock;
  /** Begun calls by request id, until their outcome is recorded. */
  private readonly inFlight = new Map<string, OpenCall>();
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
    this.spool = new AuditSpool(config.audit.spoolDir, undefined, {
      clock: this.clock,
      commitDelayMs: config.audit.commitDelayMs,
      sync: options.sync,
    });
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

  /** Spooled beyond its headroom: the record is refused, logged and counted, and the answer withheld. */
  private refuseUnspooled(entry: AuditEntry): never {
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

  /** The columns that say who asked for what, bounded in size whatever came in. */
  private whoColumns(call: AuditIntent): SpooledRecord {
    return {
      record_id: randomUUID(),
      event_time: new Date(this.clock.now()).toISOString(),
      request_id: boundedText(call.requestId, 128),
      mode: boundedText(call.mode, 64),
      credential_source: boundedText(call.credentialSource, 64),
      human: boundedText(call.human, 320),
      workspace_principal: boundedText(call.workspacePrincipal, 320),
      role: boundedText(call.role, 128),
      tool: boundedText(call.tool, 128),
      arguments: "",
    };
  }

  /**
   * Every other field is capped, so the arguments get what is left of the record's ceiling. Returns the record's
   * `recordInsertBytes`.
   */
  private fitArguments(record: SpooledRecord, args: unknown): number {
    record.arguments = "";
    const others = recordInsertBytes(record) - carriedBytes("");
    const fitted = boundedArguments(
      args,
      this.config.audit.maxArgumentChars,
      this.config.audit.maxRecordBytes - others,
    );
    record.arguments = fitted;
    return others + carriedBytes(fitted);
  }

  /**
   * Spools the intent of a call about to reach the workspace: who asks for what, as a record whose outcome is
   * `unknown` until `record` completes it. Its durable write runs while the call runs; `record` waits for it.
   */
  begin(call: AuditIntent): void {
    // Beyond the headroom no intent is spooled; `record` then refuses the answer as it would have.
    if (this.fullBeyond(HEADROOM)) return;
    const intent = this.whoColumns(call);
    Object.assign(intent, UNFINISHED_OUTCOME);
    const intentBytes = this.fitArguments(intent, call.arguments);
    const durable = this.spool.begin(intent);
    // Awaited by `record`; marked handled here so a failure before then is not an unhandled rejection.
    durable.catch(() => undefined);
    this.inFlight.set(call.requestId, { intent, intentBytes, args: call.arguments, durable });
  }

  /**
   * The one audit record of a call or refusal. A begun call's outcome joins its intent: in the kernel before this
   * resolves, on disk within the commit delay, and this resolves once the intent is on disk. Any other record (a
   * refusal before the workspace) is spooled whole and on disk before this resolves.
   */
  async record(entry: AuditEntry): Promise<void> {
    const open = this.inFlight.get(entry.requestId);
    if (open) {
      this.inFlight.delete(entry.requestId);
      await this.finish(open, entry);
    } else {
      if (this.fullBeyond(HEADROOM)) this.refuseUnspooled(entry);
      const record = this.whoColumns(entry);
      Object.assign(record, outcomeColumns(entry, record.record_id));
      rememberInsertBytes(record, this.fitArguments(record, entry.arguments));
      await this.spool.append(record);
    }
    // A full batch is written at once; smaller ones wait for the flush interval, so the table gets one INSERT per
    // interval rather than one per call (the spool already holds each record). While the table is failing,
    // new records wait for the backoff instead of each forcing another failed write.
    if (!this.backingOff && this.fullBatchWaiting()) this.wake?.();
  }

  /**
   * A batch's worth waits: `batchSize` records, or records whose spool lines alone reach `maxBatchBytes` (large
   * records fill an INSERT by bytes long before they reach the count).
   */
  private fullBatchWaiting(): boolean {
    return this.spool.depth() >= this.config.audit.batchSize || this.spool.bytes() >= this.config.audit.maxBatchBytes;
  }

  private async finish(open: OpenCall, entry: AuditEntry): Promise<void> {
    const outcome = outcomeColumns(entry, open.intent.record_id);
    let bytes = open.intentBytes - UNFINISHED_BYTES + columnsInsertBytes(outcome, OUTCOME_COLUMNS);
    if (bytes > this.config.audit.maxRecordBytes) {
      // The outcome took more room than the intent left it (many statement ids): the arguments are fitted again.
      const joined = { ...open.intent, ...outcome };
      this.fitArguments(joined, open.args);
      outcome.arguments = joined.arguments;
      bytes = recordInsertBytes(joined);
    }
    const finished = this.spool.finish(outcome);
    rememberInsertBytes(finished.record, bytes);
    finished.durable.catch((err: unknown) =>
      this.logger.error(
        { requestId: boundedText(entry.requestId, 128), err: { code: (err as { code?: string }).code } },
        "audit outcome not made durable; it stays in the spool file as written",
      ),
    );
    await open.durable;
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
        if (ok && this.spool.depth() > 0 && (this.isolating() || this.fullBatchWaiting())) continue;
        // Told to stop during that drain (no wake to call then): `stop` drains what is left, so no sleep is waited out.
        if (!this.running) break;
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
