import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { systemClock, type Clock } from "../clock.js";
import { auditIntent, refusedBeforeTool, type AuditEntry } from "./audit-entry.js";
import { DeadlineTimer } from "./deadline-timer.js";

/** A request refused at the door before anyone was verified: no token, a bad one, an unmapped role… */
export interface UnverifiedRefusal {
  /** The peer address of the connection (never a forwarded header a client could choose). */
  source: string | undefined;
  code: string;
  tool: string;
  credentialSource: string;
}

interface RefusalWindow {
  start: number;
  source: string;
  code: string;
  firstRequestId: string;
  /** Refusals after the first, answered with `foldedRequestId` and written as one record when the window closes. */
  folded: number;
  foldedRequestId?: string;
  foldedTool?: string;
  foldedCredentialSource?: string;
}

export interface RefusalAggregatorOptions {
  clock?: Clock;
  windowMs?: number;
  /** Windows open at once; refusals from further sources share one window per code (source "*"). */
  maxWindows?: number;
}

/** IPv4 peers of a dual-stack socket as plain IPv4, so one client is one source. */
function sourceOf(address: string | undefined): string {
  if (!address) return "unknown";
  return address.startsWith("::ffff:") ? address.slice(7) : address.slice(0, 64);
}

/**
 * Refusals without a verified identity, folded per (source address, error code, minute), so that anonymous traffic
 * cannot fill the audit spool. The first refusal of a window is recorded at once, durable before its answer, so a
 * lone refusal is as visible as before; the rest of the window becomes one record with their count when the minute
 * closes (or at shutdown). At most two records per source, code and minute, with counts adding up to every refusal.
 */
export class RefusalAggregator {
  private readonly windows = new Map<string, RefusalWindow>();
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly maxWindows: number;
  /** The one timer, for the earliest window end. */
  private readonly windowEnd: DeadlineTimer;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly record: (entry: AuditEntry) => Promise<void>,
    private readonly logger: Logger,
    options: RefusalAggregatorOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxWindows = options.maxWindows ?? 1000;
    this.windowEnd = new DeadlineTimer(this.clock, () => void this.flush(this.clock.now()));
  }

  /** Counts one refusal; resolves to the request id its answer names, which finds its audit record. Never rejects. */
  async refuse(refusal: UnverifiedRefusal): Promise<string> {
    const start = Math.floor(this.clock.now() / this.windowMs) * this.windowMs;
    let source = sourceOf(refusal.source);
    let key = `${start}|${source}|${refusal.code}`;
    if (!this.windows.has(key) && this.windows.size >= this.maxWindows) {
      source = "*";
      key = `${start}|*|${refusal.code}`;
    }
    const open = this.windows.get(key);
    if (open) {
      open.folded += 1;
      if (open.foldedRequestId === undefined) {
        open.foldedRequestId = randomUUID();
        open.foldedTool = refusal.tool;
        open.foldedCredentialSource = refusal.credentialSource;
      }
      return open.foldedRequestId;
    }
    const window: RefusalWindow = { start, source, code: refusal.code, firstRequestId: randomUUID(), folded: 0 };
    this.windows.set(key, window);
    this.windowEnd.armBy(start + this.windowMs);
    await this.write({
      requestId: window.firstRequestId,
      tool: refusal.tool,
      credentialSource: refusal.credentialSource,
      code: refusal.code,
      refusals: { count: 1, source, window_start: new Date(start).toISOString() },
    });
    return window.firstRequestId;
  }

  private async write(r: {
    requestId: string;
    tool: string;
    credentialSource: string;
    code: string;
    refusals: Record<string, unknown>;
  }): Promise<void> {
    const { requestId, tool, credentialSource } = r;
    await this.record(
      refusedBeforeTool(
        auditIntent({ requestId, tool, arguments: { refusals: r.refusals }, credentialSource }),
        r.code,
      ),
    ).catch((err: unknown) =>
      this.logger.error(
        { requestId: r.requestId, errorCode: r.code, err: { code: (err as { code?: string }).code } },
        "audit of a refused request failed",
      ),
    );
  }

  /**
   * Writes the folded refusals of every window closed by `until` (all of them when omitted: shutdown, or a test that
   * wants each refusal in a window of its own). Resolves once they are spooled.
   */
  flush(until = Infinity): Promise<void> {
    const run = this.flushing.then(async () => {
      const closed = [...this.windows].filter(([, w]) => w.start + this.windowMs <= until);
      for (const [key] of closed) this.windows.delete(key);
      for (const [, w] of closed) {
        if (w.folded === 0) continue;
        await this.write({
          requestId: w.foldedRequestId!,
          tool: w.foldedTool!,
          credentialSource: w.foldedCredentialSource!,
          code: w.code,
          refusals: {
            count: w.folded,
            source: w.source,
            window_start: new Date(w.start).toISOString(),
            window_end: new Date(w.start + this.windowMs).toISOString(),
            first_request_id: w.firstRequestId,
          },
        });
      }
      let next = Infinity;
      for (const w of this.windows.values()) next = Math.min(next, w.start + this.windowMs);
      if (next < Infinity) this.windowEnd.armBy(next);
    });
    this.flushing = run;
    return run;
  }

  /** Writes everything folded so far and stops the timer. */
  async stop(): Promise<void> {
    this.windowEnd.clear();
    await this.flush();
    this.windowEnd.clear();
  }
}
