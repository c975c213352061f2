import { closeSync, constants, fdatasync, fstatSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { promisify } from "node:util";
import { systemClock, type Clock } from "../clock.js";
import { DeadlineTimer } from "./deadline-timer.js";

const datasync = promisify(fdatasync);

/** Syncs under way at once: two, so an append never waits behind a whole sync it just missed (thread pool: 4). */
const PARALLEL_SYNCS = 2;

export interface CommittedFileOptions {
  /** Time for the bounded commit delay; the system clock unless a test gives another. */
  clock?: Clock;
  /** Makes the file's written data durable; fdatasync unless a test gives another. */
  sync?: (fd: number) => Promise<void>;
}

interface Waiter {
  seq: number;
  /** Clock time by which a sync covering it must start. */
  by: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * An append-only file in two steps, as databases commit: `append` hands the text to the kernel at once (it survives a
 * crash of the process), `commit` resolves once it is on disk (it survives power loss). One fdatasync covers every
 * write made before it started, so commits that overlap share it (group commit).
 */
export class CommittedFile {
  private readonly fd: number;
  private readonly clock: Clock;
  private readonly sync: (fd: number) => Promise<void>;
  /** Appends made, appends known on disk, and the highest append someone waits on now. */
  private written = 0;
  private synced = 0;
  private wanted = 0;
  /** Appends up to here were covered by a failed sync; they are not retried unless asked again. */
  private failed = 0;
  /** The highest append a sync under way (or done) started after. */
  private started = 0;
  private readonly syncing = new Set<Promise<void>>();
  private waiters: Waiter[] = [];
  private readonly deadline: DeadlineTimer;
  /** Durable writes done (each covering every append before it). */
  syncs = 0;
  /** Bytes in the file. */
  bytes: number;

  constructor(path: string, options: CommittedFileOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.deadline = new DeadlineTimer(this.clock, () => this.want(this.written));
    this.sync = options.sync ?? datasync;
    this.fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    this.bytes = fstatSync(this.fd).size;
  }

  /**
   * Writes all of `text` at the end of the file and returns its sequence number for `commit`. Synchronous: a write
   * into the page cache takes microseconds, and the caller may rely on it being there before its next step.
   */
  append(text: string): number {
    const buffer = Buffer.from(text);
    for (let offset = 0; offset < buffer.length;) offset += writeSync(this.fd, buffer, offset, buffer.length - offset);
    this.bytes += buffer.length;
    this.written += 1;
    return this.written;
  }

  /**
   * Resolves once append `seq` is on disk. With `withinMs` 0 a sync starts now (or right after the one under way);
   * otherwise one starts at the latest `withinMs` later, sharing it with whatever is appended meanwhile, or earlier
   * when `hurry` asks. `startIfIdle` starts the sync all the same when none is under way (an idle disk makes waiting
   * pointless, and under load the delay lets many commits share one sync), two turns of the event loop later: handing
   * a sync to the thread pool costs the caller tens of microseconds, which the request an intent precedes should not
   * wait behind, and the workspace client writes a request on a reused keep-alive socket only at the end of the turn
   * it was made in (undici first reads what the idle socket may hold), so a sync started in that turn would go first.
   */
  commit(seq: number, withinMs = 0, options: { startIfIdle?: boolean } = {}): Promise<void> {
    if (seq <= this.synced) return Promise.resolve();
    const now = withinMs <= 0;
    const soon = !now && options.startIfIdle === true && this.syncing.size === 0;
    // A commit whose sync is wanted now or soon sets no timer; only delayed ones do.
    const by = now || soon ? Infinity : this.clock.now() + withinMs;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ seq, by, resolve, reject }));
    if (now) this.want(seq);
    // After `close` this finds its append covered (close syncs every append), so no sync starts on a closed file.
    else if (soon) setImmediate(() => setImmediate(() => this.want(seq)));
    else this.deadline.armBy(by);
    return done;
  }

  /** Append `seq` is wanted on disk now: a sync starts unless one under way (or done) already covers it. */
  hurry(seq: number): void {
    if (seq > this.synced) this.want(seq);
  }

  private want(seq: number): void {
    this.wanted = Math.max(this.wanted, seq);
    this.startSyncs();
  }

  /**
   * Starts a sync for what is wanted and not yet covered. A second may run beside one under way: an append made
   * just after a sync started (typically the delayed outcome's, then the next call's intent) need not wait for that
   * sync to end before its own begins.
   */
  private startSyncs(): void {
    while (this.syncing.size < PARALLEL_SYNCS && this.wanted > Math.max(this.started, this.failed)) {
      const upTo = this.written;
      this.started = upTo;
      const run = this.sync(this.fd).then(
        () => {
          this.syncs += 1;
          // A sync makes durable everything written before it started, whatever order syncs end in.
          this.synced = Math.max(this.synced, upTo);
          this.settle(this.synced, (w) => w.resolve());
        },
        (err: unknown) => {
          this.failed = Math.max(this.failed, upTo);
          this.settle(upTo, (w) => w.reject(err));
        },
      );
      this.syncing.add(run);
      void run.finally(() => {
        this.syncing.delete(run);
        this.startSyncs();
      });
    }
  }

  private settle(upTo: number, how: (w: Waiter) => void): void {
    const left: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.seq <= upTo) how(w);
      else left.push(w);
    }
    this.waiters = left;
    // The delayed sync is due by the earliest deadline still waiting: a sync that already covered a waiter (another
    // commit's, typically the next call's intent) moves it later, or away, so it rarely runs under steady load.
    let earliest = Infinity;
    for (const w of left) earliest = Math.min(earliest, w.by);
    if (earliest !== this.deadline.at) {
      this.deadline.clear();
      if (earliest < Infinity) this.deadline.armBy(earliest);
    }
  }

  /** Empties the file (its appends so far need no commit any more). */
  truncate(): void {
    ftruncateSync(this.fd, 0);
    this.bytes = 0;
  }

  /** Makes every append durable, then closes the file. */
  async close(): Promise<void> {
    this.deadline.clear();
    if (this.written > this.synced) await this.commit(this.written).catch(() => undefined);
    await Promise.all(this.syncing);
    closeSync(this.fd);
  }
}
