import {
  constants,
  closeSync,
  fdatasync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  write,
  writeSync,
  existsSync,
} from "node:fs";
import { promisify } from "node:util";
import { join } from "node:path";

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
  private queue: { line: string; record: SpooledRecord; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing = false;
  private flushed: Promise<void> = Promise.resolve();
  private acked: Promise<void> = Promise.resolve();
  syncs = 0;
  appends = 0;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.spoolPath = join(dir, "audit-spool.jsonl");
    this.ackPath = join(dir, "audit-acked.jsonl");
    this.replay();
    this.spoolFd = openSync(this.spoolPath, APPEND_DURABLY, 0o600);
    this.ackFd = openSync(this.ackPath, APPEND_DURABLY, 0o600);
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
        this.pendingRecords.set(record.record_id, record);
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
      this.queue.push({ line: `${JSON.stringify(record)}\n`, record, resolve, reject });
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
            this.pendingRecords.set(b.record.record_id, b.record);
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

  depth(): number {
    return this.pendingRecords.size;
  }

  /** Marks records as written to the table; durable before it resolves. Acknowledgements are written in order. */
  ack(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    const run = this.acked.then(async () => {
      await writeDurably(this.ackFd, ids.map((id) => `${JSON.stringify(id)}\n`).join(""));
      for (const id of ids) this.pendingRecords.delete(id);
    });
    this.acked = run.catch(() => undefined);
    return run;
  }

  /** Closes the files once every append already made is on disk. */
  async close(): Promise<void> {
    await this.flushed;
    await this.acked;
    closeSync(this.spoolFd);
    closeSync(this.ackFd);
  }
}

const writeAsync = promisify(write);
const datasync = promisify(fdatasync);

/**
 * Append-only, and where the platform has O_DSYNC every write returns only once its data is on disk: one trip to the
 * thread pool per batch instead of a write and then an fdatasync.
 */
const APPEND_DURABLY = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_DSYNC ?? 0);

/** Writes all of `text` at the end of an append-mode file (a short write continues where it stopped), durably. */
async function writeDurably(fd: number, text: string): Promise<void> {
  const buffer = Buffer.from(text);
  for (let offset = 0; offset < buffer.length;) {
    const { bytesWritten } = await writeAsync(fd, buffer, offset, buffer.length - offset);
    offset += bytesWritten;
  }
  if (constants.O_DSYNC === undefined) await datasync(fd);
}
