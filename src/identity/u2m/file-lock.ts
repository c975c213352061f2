import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import type { Clock } from "../../clock.js";

export interface FileLockTiming {
  /** A lock held longer than this (on the clock) is taken over: its holder hung or its clock is gone. */
  staleMs: number;
  /** How often a waiter looks at the lock again. */
  pollMs: number;
}

export const DEFAULT_FILE_LOCK_TIMING: FileLockTiming = { staleMs: 60_000, pollMs: 50 };

interface Holder {
  pid: number;
  host: string;
  /** Clock milliseconds when the lock was taken. */
  acquiredAt: number;
  nonce: string;
}

function parseHolder(text: string): Holder | undefined {
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    const valid =
      typeof h.pid === "number" &&
      typeof h.host === "string" &&
      typeof h.acquiredAt === "number" &&
      typeof h.nonce === "string";
    return valid ? (h as Holder) : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const readText = (path: string) => {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
};

/**
 * An exclusive lock between processes: the file `path`, created whole or not at all (a temp file hard-linked into
 * place, which fails when the lock exists), naming its holder. A lock whose holder process is gone (same host), or
 * held past `staleMs` on the clock, or unreadable, is taken over; only its holder releases a lock.
 */
export class FileLock {
  constructor(
    readonly path: string,
    private readonly clock: Clock,
    private readonly timing: FileLockTiming = DEFAULT_FILE_LOCK_TIMING,
  ) {}

  /** Runs `critical` holding the lock, waiting for it (polling on the clock) while another holder has it. */
  async withLock<T>(critical: () => Promise<T>): Promise<T> {
    const nonce = randomBytes(12).toString("hex");
    for (;;) {
      if (this.tryTake(nonce)) break;
      const text = readText(this.path);
      if (text === undefined) continue; // released meanwhile
      if (this.isStale(parseHolder(text))) this.takeOver(text);
      else await this.clock.sleep(this.timing.pollMs);
    }
    try {
      return await critical();
    } finally {
      this.release(nonce);
    }
  }

  private tryTake(nonce: string): boolean {
    const holder: Holder = { pid: process.pid, host: hostname(), acquiredAt: this.clock.now(), nonce };
    const temp = `${this.path}.${nonce}.tmp`;
    writeFileSync(temp, JSON.stringify(holder), { mode: 0o600 });
    try {
      linkSync(temp, this.path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    } finally {
      unlinkSync(temp);
    }
  }

  private isStale(holder: Holder | undefined): boolean {
    if (!holder) return true;
    if (this.clock.now() - holder.acquiredAt > this.timing.staleMs) return true;
    return holder.host === hostname() && !processAlive(holder.pid);
  }

  /** Moves the stale lock aside, then checks it was the one judged stale; a lock taken meanwhile is put back. */
  private takeOver(staleText: string): void {
    const aside = `${this.path}.${randomBytes(6).toString("hex")}.stale`;
    try {
      renameSync(this.path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    if (readText(aside) !== staleText) {
      try {
        linkSync(aside, this.path);
      } catch {
        // Someone else holds the lock now; theirs stands.
      }
    }
    unlinkSync(aside);
  }

  private release(nonce: string): void {
    const text = readText(this.path);
    if (text !== undefined && parseHolder(text)?.nonce === nonce) unlinkSync(this.path);
  }
}
