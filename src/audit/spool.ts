import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { APPEND_DURABLY, writeDurably } from "./durable-file.js";

export interface SpooledRecord {
  record_id: string;
  [key: string]: unknown;
}

/**
 * A durable local spool: records are appended as JSON lines, on disk before `append` resolves; concurrent appends
 * share one durable write (group commit). Acknowledged ids (written to the table) are logged the same
 * way; on open, every appended-but-unacknowledged record is pending again, once per id. A torn last line is skipped.
 */
export class AuditSpool {
  private readonly spoolPath: string;
  private readonly ackPath: string;
  private spoolFd: number;
  private ackFd: number;
  private readonly pendingRecords = new Map<string, SpooledRecord>();
  /** Bytes of each pending record's line, and their sum: what the spool holds that the table does not. */
  private readonly pendingLineBytes = new Map<string, number>();
  private pendingBytes = 0;
  /** Bytes in the spool file, acknowledged lines included, since it was last emptied. */
  private fileBytes = 0;
  private queue: {
    line: string;
    bytes: number;
    record: SpooledRecord;
    resolve: () => void;
    reject: (e: unknown) => void;
  }[] = [];
  private flushing = false;
  private flushed: Promise<void> = Promise.resolve();
  private acked: Promise<void> = Promise.resolve();
  syncs = 0;
  appends = 0;
  compactions = 0;

  /** `compactAfterBytes`: the spool file is emptied once everything in it is written and it has grown this large. */
  constructor(
    dir: string,
    private readonly compactAfterBytes = 4 * 1024 * 1024,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.spoolPath = join(dir, "audit-spool.jsonl");
    this.ackPath = join(dir, "audit-acked.jsonl");
    this.replay();
    this.spoolFd = openSync(this.spoolPath, APPEND_DURABLY, 0o600);
    this.ackFd = openSync(this.ackPath, APPEND_DURABLY, 0o600);
    this.fileBytes = fstatSync(this.spoolFd).size;
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

  private replay(): void {
    const acked = new Set(AuditSpool.lines(this.ackPath).map(String));
    for (const record of AuditSpool.lines(this.spoolPath) as SpooledRecord[]) {
      if (record && typeof record.record_id === "string" && !acked.has(record.record_id))
        this.hold(record, Buffer.byteLength(JSON.stringify(record)) + 1);
    }
    // Compact: rewrite the spool with only the pending records, then start a fresh ack log.
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

  /** Resolves once the record is on disk. */
  append(record: SpooledRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      const line = `${JSON.stringify(record)}\n`;
      this.queue.push({ line, bytes: Buffer.byteLength(line), record, resolve, reject });
      this.appends += 1;
      if (!this.flushing) this.flush();
    });
  }

  /**
   * Group commit off the event loop: one durable write per batch, in the thread pool; appends that arrive while a
   * batch is on its way to disk form the next batch.
   */
  private flush(): void {
    this.flushing = true;
    this.flushed = (async () => {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await writeDurably(this.spoolFd, batch.map((b) => b.line).join(""));
          this.syncs += 1;
          for (const b of batch) {
            this.fileBytes += b.bytes;
            this.hold(b.record, b.bytes);
            b.resolve();
          }
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
      this.flushing = false;
    })();
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
   * Once every record is in the table, both files start over, so a long-running server's spool does not grow with
   * everything it ever wrote. Synchronous, so no append can land in between; losing it in a crash only replays
   * acknowledged records, which the idempotent INSERT skips.
   */
  private emptyWhenAllWritten(): void {
    if (this.fileBytes < this.compactAfterBytes) return;
    if (this.pendingRecords.size > 0 || this.queue.length > 0 || this.flushing) return;
    ftruncateSync(this.spoolFd, 0);
    ftruncateSync(this.ackFd, 0);
    this.fileBytes = 0;
    this.compactions += 1;
  }

  /** Closes the files once every append already made is on disk. */
  async close(): Promise<void> {
    await this.flushed;
    await this.acked;
    closeSync(this.spoolFd);
    closeSync(this.ackFd);
  }
}
