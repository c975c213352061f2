import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Clock } from "../clock.js";
import { CommittedFile } from "./committed-file.js";
import { APPEND_DURABLY, writeDurably } from "./durable-file.js";

export interface SpooledRecord {
  record_id: string;
  [key: string]: unknown;
}

export interface AuditSpoolOptions {
  /** Time for the outcome commit delay; the system clock unless a test gives another. */
  clock?: Clock;
  /** At the latest this long after an outcome is appended, it is on disk (0: at once). */
  commitDelayMs?: number;
  /** Makes the spool file's data durable; fdatasync unless a test gives another. */
  sync?: (fd: number) => Promise<void>;
}

/** A spool line: a whole record, the intent of a call about to reach the workspace, or that call's outcome. */
type SpoolLine = SpooledRecord | { intent: SpooledRecord } | { outcome: SpooledRecord };

const isRecord = (value: unknown): value is SpooledRecord =>
  typeof value === "object" && value !== null && typeof (value as SpooledRecord).record_id === "string";

/**
 * A durable local spool of audit records as JSON lines. A record is spooled whole (`append`: on disk before it
 * resolves), or in two lines around a workspace call: its intent (`begin`: on disk while the call runs) and its outcome
 * (`finish`: in the kernel at once, on disk within the commit delay). Acknowledged ids (written to the table) are
 * logged durably beside it; on open, every record not acknowledged is pending again, once per id, and an intent
 * without its outcome is pending as it was written (outcome `unknown`). A torn last line is skipped.
 */
export class AuditSpool {
  private readonly spoolPath: string;
  private readonly ackPath: string;
  private readonly file: CommittedFile;
  private ackFd: number;
  private readonly commitDelayMs: number;
  private readonly pendingRecords = new Map<string, SpooledRecord>();
  /** Bytes of each pending record's lines, and their sum: what the spool holds that the table does not. */
  private readonly pendingLineBytes = new Map<string, number>();
  private pendingBytes = 0;
  /** Intents whose outcome is not spooled yet, with the bytes of their line. */
  private readonly open = new Map<string, { record: SpooledRecord; bytes: number; seq: number }>();
  private acked: Promise<void> = Promise.resolve();
  appends = 0;
  compactions = 0;

  /** `compactAfterBytes`: the spool file is emptied once everything in it is written and it has grown this large. */
  constructor(
    dir: string,
    private readonly compactAfterBytes = 4 * 1024 * 1024,
    options: AuditSpoolOptions = {},
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.spoolPath = join(dir, "audit-spool.jsonl");
    this.ackPath = join(dir, "audit-acked.jsonl");
    this.commitDelayMs = options.commitDelayMs ?? 0;
    this.replay();
    this.file = new CommittedFile(this.spoolPath, options);
    this.ackFd = openSync(this.ackPath, APPEND_DURABLY, 0o600);
  }

  /** Durable writes of the spool file so far (each covering every line before it). */
  get syncs(): number {
    return this.file.syncs;
  }

  private hold(record: SpooledRecord, bytes: number): void {
    if (this.pendingRecords.has(record.record_id)) return;
    this.pendingRecords.set(record.record_id, record);
    this.pendingLineBytes.set(record.record_id, bytes);
    this.pendingBytes += bytes;
  }

  private release(id: string): void {
    if (!this.pendingRecords.delete(id)) return;
    this.pendingBytes -= this.pendingLineBytes.get(id) ?? 0;
    this.pendingLineBytes.delete(id);
  }

  private static lines(path: string): unknown[] {
    if (!existsSync(path)) return [];
    return readFileSync(path, "utf8")
      .split("\n")
      .flatMap((line) => {
        if (!line.trim()) return [];
        try {
          return [JSON.parse(line) as unknown];
        } catch {
          return []; // a line torn by a crash mid-write
        }
      });
  }

  /** Joins intents and outcomes; an intent left without outcome (the process died during its call) stays as written. */
  private replay(): void {
    const acked = new Set(AuditSpool.lines(this.ackPath).map(String));
    const intents = new Map<string, SpooledRecord>();
    const whole: SpooledRecord[] = [];
    for (const line of AuditSpool.lines(this.spoolPath) as SpoolLine[]) {
      if (typeof line !== "object" || line === null) continue;
      if ("intent" in line && isRecord(line.intent)) intents.set(line.intent.record_id, line.intent);
      else if ("outcome" in line && isRecord(line.outcome)) {
        const intent = intents.get(line.outcome.record_id);
        // An outcome is written after its intent, so one without is not a record (a corrupted file): skipped.
        if (!intent) continue;
        intents.delete(line.outcome.record_id);
        whole.push({ ...intent, ...line.outcome });
      } else if (isRecord(line)) whole.push(line);
    }
    for (const record of [...whole, ...intents.values()])
      if (!acked.has(record.record_id)) this.hold(record, Buffer.byteLength(JSON.stringify(record)) + 1);
    // Compact: rewrite the spool with only the pending records, whole, then start a fresh ack log.
    const tmp = `${this.spoolPath}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    for (const record of this.pendingRecords.values()) writeSync(fd, `${JSON.stringify(record)}\n`);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.spoolPath);
    const ackFd = openSync(this.ackPath, "w", 0o600);
    fsyncSync(ackFd);
    closeSync(ackFd);
  }

  private write(line: SpoolLine): { seq: number; bytes: number } {
    const text = `${JSON.stringify(line)}\n`;
    const before = this.file.bytes;
    const seq = this.file.append(text);
    this.appends += 1;
    return { seq, bytes: this.file.bytes - before };
  }

  /** Spools a whole record; resolves once it is on disk. */
  append(record: SpooledRecord): Promise<void> {
    try {
      const { seq, bytes } = this.write(record);
      this.hold(record, bytes);
      return this.file.commit(seq);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Spools the intent of a call before it reaches the workspace (in the kernel when this returns, so it survives the
   * process); the promise resolves once it is on disk. A call alone starts its sync when none is under way, once the
   * statement it precedes has been written (see `CommittedFile.commit`), so one call at a time never waits for a sync
   * it could have had; while other calls are under way, it joins the next group commit, within the commit delay or as soon as
   * `finish` asks for it (PostgreSQL's `commit_siblings` makes the same choice). Until `finish`, it is not pending for
   * the table.
   */
  begin(intent: SpooledRecord): Promise<void> {
    const { seq, bytes } = this.write({ intent });
    this.open.set(intent.record_id, { record: intent, bytes, seq });
    return this.file.commit(seq, this.commitDelayMs, { startIfIdle: this.open.size === 1 });
  }

  /**
   * Spools the outcome of a begun call (in the kernel when this returns), starts the sync its intent still needs, and
   * makes the joined record pending; the promise resolves once the outcome is on disk, within the commit delay.
   * Returns the joined record.
   */
  finish(outcome: SpooledRecord): { record: SpooledRecord; durable: Promise<void> } {
    const intent = this.open.get(outcome.record_id);
    if (!intent) throw new Error("audit outcome without an open intent");
    this.open.delete(outcome.record_id);
    let written: { seq: number; bytes: number };
    try {
      written = this.write({ outcome });
    } catch (err) {
      // The intent stands for the call (outcome `unknown`), so the table still gets a row for it.
      this.hold(intent.record, intent.bytes);
      throw err;
    }
    const { seq, bytes } = written;
    // The answer waits for the intent now: a sync starts unless one covers it, and takes the outcome along.
    this.file.hurry(intent.seq);
    const record = { ...intent.record, ...outcome };
    this.hold(record, intent.bytes + bytes);
    return { record, durable: this.file.commit(seq, this.commitDelayMs) };
  }

  /** Records appended but not yet written to the table, oldest first. */
  pending(limit = Infinity): SpooledRecord[] {
    const out: SpooledRecord[] = [];
    for (const record of this.pendingRecords.values()) {
      if (out.length >= limit) break;
      out.push(record);
    }
    return out;
  }

  /** Records not yet written to the table, oldest first, without copying them. */
  oldest(): IterableIterator<SpooledRecord> {
    return this.pendingRecords.values();
  }

  depth(): number {
    return this.pendingRecords.size;
  }

  /** Bytes of the records not yet written to the table (their spool lines). */
  bytes(): number {
    return this.pendingBytes;
  }

  /** Marks records as written to the table; durable before it resolves. Acknowledgements are written in order. */
  ack(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    const run = this.acked.then(async () => {
      await writeDurably(this.ackFd, ids.map((id) => `${JSON.stringify(id)}\n`).join(""));
      for (const id of ids) this.release(id);
      this.emptyWhenAllWritten();
    });
    this.acked = run.catch(() => undefined);
    return run;
  }

  /**
   * Once every record is in the table and no call is under way, both files start over, so a long-running server's
   * spool does not grow with everything it ever wrote. Synchronous, so no append can land in between; losing it in a
   * crash only replays acknowledged records, which the idempotent INSERT skips.
   */
  private emptyWhenAllWritten(): void {
    if (this.file.bytes < this.compactAfterBytes) return;
    if (this.pendingRecords.size > 0 || this.open.size > 0) return;
    this.file.truncate();
    ftruncateSync(this.ackFd, 0);
    this.compactions += 1;
  }

  /** Closes the files once every line already appended is on disk. */
  async close(): Promise<void> {
    await this.acked;
    await this.file.close();
    closeSync(this.ackFd);
  }
}
