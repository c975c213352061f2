import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { AuditTrail } from "../../src/audit/audit-trail.js";
import { RefusalAggregator, type UnverifiedRefusal } from "../../src/audit/refusal-aggregator.js";
import type { SpooledRecord } from "../../src/audit/spool.js";
import { FakeClock } from "../support/fake-clock.js";
import { trailConfig } from "./audit-writer.js";

const never = async () => {
  throw new Error("no table in this test");
};

/** An aggregator spooling into a real (never started) audit trail, on a clock the test moves. */
function setup(options: { maxWindows?: number } = {}) {
  // 30 s into a minute, so the first window closes after 30 s of clock time.
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 30));
  const config = trailConfig(undefined);
  const trail = new AuditTrail(config, pino({ level: "silent" }), never, { clock });
  const aggregator = new RefusalAggregator((entry) => trail.record(entry), pino({ level: "silent" }), {
    clock,
    ...options,
  });
  const spooled = (): (SpooledRecord & { refusals: Record<string, unknown> })[] => {
    const path = join(config.audit.spoolDir, "audit-spool.jsonl");
    if (!existsSync(path)) return [];
    return readFileSync(path, "utf8")
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const record = JSON.parse(l) as SpooledRecord;
        return {
          ...record,
          refusals: (JSON.parse(record.arguments as string) as { refusals: Record<string, unknown> }).refusals,
        };
      });
  };
  return { clock, aggregator, spooled };
}

/** Waits (bounded) for the writes a moved clock set off, which go through the spool's durable write. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i += 1) await new Promise((r) => setTimeout(r, 5));
}

const anonymous = (source: string, code = "UNAUTHENTICATED", tool = "check_identity"): UnverifiedRefusal => ({
  source,
  code,
  tool,
  credentialSource: "none",
});

describe("refusals without a verified identity", () => {
  it("are folded per source, code and minute: the first recorded at once, the rest as one record when the minute closes", async () => {
    const { clock, aggregator, spooled } = setup();
    const first = await aggregator.refuse(anonymous("127.0.0.1"));
    // Durable before its answer: the first refusal of a window is on disk already.
    expect(spooled()).toMatchObject([
      {
        request_id: first,
        outcome: "denied",
        error_code: "UNAUTHENTICATED",
        mode: "unresolved",
        tool: "check_identity",
      },
    ]);
    expect(spooled()[0]!.refusals).toEqual({ count: 1, source: "127.0.0.1", window_start: "2026-01-01T12:00:00.000Z" });

    const folded = new Set<string>();
    for (let i = 0; i < 499; i += 1)
      folded.add(
        await aggregator.refuse(anonymous(i % 2 ? "::ffff:127.0.0.1" : "127.0.0.1", "UNAUTHENTICATED", `t${i}`)),
      );
    expect(folded.size).toBe(1); // every folded refusal is answered with the one id of its record
    expect(spooled()).toHaveLength(1);

    await clock.advance(29_999);
    expect(spooled()).toHaveLength(1);
    await clock.advance(1);
    await until(() => spooled().length === 2);
    const records = spooled();
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({ request_id: [...folded][0], tool: "t0", error_code: "UNAUTHENTICATED" });
    expect(records[1]!.refusals).toEqual({
      count: 499,
      source: "127.0.0.1",
      window_start: "2026-01-01T12:00:00.000Z",
      window_end: "2026-01-01T12:01:00.000Z",
      first_request_id: first,
    });
  });

  it("keeps sources and codes apart, and a new minute opens new windows", async () => {
    const { clock, aggregator, spooled } = setup();
    await aggregator.refuse(anonymous("10.0.0.1"));
    await aggregator.refuse(anonymous("10.0.0.2"));
    await aggregator.refuse(anonymous("10.0.0.1", "TOKEN_INVALID"));
    await aggregator.refuse(anonymous("10.0.0.1"));
    expect(spooled().map((r) => [r.refusals.source, r.error_code])).toEqual([
      ["10.0.0.1", "UNAUTHENTICATED"],
      ["10.0.0.2", "UNAUTHENTICATED"],
      ["10.0.0.1", "TOKEN_INVALID"],
    ]);
    await clock.advance(30_000);
    await until(() => spooled().length === 4);
    expect(spooled().map((r) => r.refusals.count)).toEqual([1, 1, 1, 1]);
    await aggregator.refuse(anonymous("10.0.0.1"));
    expect(spooled().at(-1)!.refusals).toMatchObject({ count: 1, window_start: "2026-01-01T12:01:00.000Z" });
  });

  it("shares one window per code among sources beyond the bound on open windows", async () => {
    const { aggregator, spooled } = setup({ maxWindows: 3 });
    for (let i = 0; i < 100; i += 1) await aggregator.refuse(anonymous(`2001:db8::${i.toString(16)}`));
    await aggregator.stop();
    const records = spooled();
    expect(records.map((r) => r.refusals.source)).toEqual(["2001:db8::0", "2001:db8::1", "2001:db8::2", "*", "*"]);
    expect(records.reduce((n, r) => n + (r.refusals.count as number), 0)).toBe(100);
  });

  it("writes what is folded at shutdown, before the minute closes", async () => {
    const { aggregator, spooled } = setup();
    for (let i = 0; i < 10; i += 1) await aggregator.refuse(anonymous("127.0.0.1", "TOKEN_EXPIRED"));
    await aggregator.stop();
    expect(spooled().map((r) => r.refusals.count)).toEqual([1, 9]);
  });
});
