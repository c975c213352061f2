import { closeSync, fchmodSync, openSync } from "node:fs";
import { join } from "node:path";
import { APPEND_DURABLY, writeDurably } from "./durable-file.js";
import type { SpooledRecord } from "./spool.js";

/**
 * Records the workspace refused even alone, set aside beside the spool (audit-dead-letter.jsonl, mode 0600) with the
 * code it answered, durably, before they leave the spool: kept for an operator to inspect and replay, never dropped.
 */
export class DeadLetterFile {
  readonly path: string;
  /** Opened on the first record set aside: most spools never need the file. */
  private fd?: number;
  private written: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.path = join(dir, "audit-dead-letter.jsonl");
  }

  private file(): number {
    if (this.fd === undefined) {
      this.fd = openSync(this.path, APPEND_DURABLY, 0o600);
      fchmodSync(this.fd, 0o600);
    }
    return this.fd;
  }

  /** Resolves once the record is on disk. */
  add(record: SpooledRecord, reason: { errorCode: string; upstreamStatus?: number; at: string }): Promise<void> {
    const line = `${JSON.stringify({
      set_aside_at: reason.at,
      error_code: reason.errorCode,
      upstream_status: reason.upstreamStatus ?? null,
      record,
    })}\n`;
    const run = this.written.then(() => writeDurably(this.file(), line));
    this.written = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.written;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
