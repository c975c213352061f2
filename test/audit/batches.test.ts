import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import type { AuditEntry } from "../../src/audit/audit-entry.js";
import { AuditTrail, type StatementExecutor } from "../../src/audit/audit-trail.js";
import { cutBatch, INSERT_ENVELOPE_BYTES, recordInsertBytes } from "../../src/audit/audit-insert.js";
import { readAuditTable, waitForAudit } from "../support/audit-table.js";
import { FakeClock } from "../support/fake-clock.js";
import { auditWriter, trailConfig } from "./audit-writer.js";

let workspace: LocalWorkspace;
let writer: Awaited<ReturnType<typeof auditWriter>>;

beforeAll(async () => {
  workspace = await startLocalWorkspace();
  writer = await auditWriter(workspace);
});
afterAll(async () => {
  await writer?.close();
  await workspace?.close();
});

/** Records at their size ceiling: arguments of quotes that each double three times on the way into the INSERT. */
const AT_CEILING = { fresh: Array.from({ length: 19 }, () => Array.from({ length: 50 }, () => '"'.repeat(500))) };

/** A refused call whose record is at its size ceiling. */
const refusalAtCeiling = (requestId: string): AuditEntry => ({
  requestId,
  mode: "federation",
  credentialSource: "exchange",
  tool: "check_identity",
  arguments: AT_CEILING,
  outcome: "failed",
  errorCode: "INVALID_ARGUMENT",
  latencyMs: 1,
  statementIds: [],
});

describe("audit batches", () => {
  it("are cut by bytes as the request is serialized, as well as by count, and every record still arrives", async () => {
    const maxBatchBytes = 1024 * 1024;
    const config = trailConfig(workspace, { batchSize: 100, maxBatchBytes });
    const trail = new AuditTrail(config, pino({ level: "silent" }), writer.execute, { clock: new FakeClock() });
    const run = randomUUID();
    for (let n = 0; n < 300; n += 1) await trail.record(refusalAtCeiling(`${run}-${n}`));
    const sent = workspace.counters.statements.length;
    while (trail.depth() > 0) expect(await trail.drainOnce()).toBe(true);

    const inserts = workspace.counters.statements.slice(sent).filter((s) => s.statement.startsWith("INSERT INTO"));
    const sizes = inserts.map((s) =>
      Buffer.byteLength(JSON.stringify({ statement: s.statement, parameters: s.parameters })),
    );
    expect(Math.max(...sizes)).toBeLessThanOrEqual(maxBatchBytes);
    // Full enough to be worth it: each batch but the last carries more than half the bytes allowed.
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThan(maxBatchBytes / 2);
    const rows = (await readAuditTable(workspace)).filter((r) => r.request_id?.startsWith(`${run}-`));
    expect(rows).toHaveLength(300);
    await trail.stop();
  });

  it("are sent as soon as large records fill one by bytes, without waiting for the count or the flush interval", async () => {
    const maxBatchBytes = 65_536;
    // A flush interval no test lasts: only a batch's worth of waiting records can wake the writer. The system clock
    // keeps the last drain of `stop` bounded in real time.
    const config = trailConfig(workspace, { batchSize: 1000, maxBatchBytes, flushIntervalMs: 3_600_000 });
    const trail = new AuditTrail(config, pino({ level: "silent" }), writer.execute);
    await trail.start();
    const run = randomUUID();
    // Sixty records at their size ceiling: far more than 64 KiB, far fewer than 1,000 records.
    for (let n = 0; n < 60; n += 1) await trail.record(refusalAtCeiling(`${run}-${n}`));
    // Bounded generously for a loaded machine; without the byte trigger nothing would ever be sent.
    const ours = (rows: { request_id?: string | null }[]) => rows.filter((r) => r.request_id?.startsWith(`${run}-`));
    const rows = await waitForAudit(workspace, (all) => ours(all).length > 0, 30_000);
    expect(ours(rows).length).toBeGreaterThan(0);
    await trail.stop();
  });

  it("stop while a batch is in flight ends once that batch is written, without sleeping out the flush interval", async () => {
    const clock = new FakeClock();
    const config = trailConfig(workspace, { batchSize: 2, flushIntervalMs: 500 });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inFlight = new Promise<void>((resolve) => (entered = resolve));
    // The real writer, held at the door of its first INSERT until the test has asked the trail to stop.
    const held: StatementExecutor = async (statement, parameters) => {
      entered();
      await released;
      await writer.execute(statement, parameters);
    };
    const trail = new AuditTrail(config, pino({ level: "silent" }), held, { clock });
    await trail.start();
    const run = randomUUID();
    // Two records: a full batch, which wakes the writer at once.
    for (let n = 0; n < 2; n += 1) await trail.record(refusalAtCeiling(`${run}-${n}`));
    await inFlight;
    const stopped = trail.stop().then(() => "stopped" as const);
    release();
    // The writer must not go back to sleep on the clock (which never moves here) once told to stop.
    const first = await Promise.race([stopped, clock.untilWaiting(1).then(() => "asleep" as const)]);
    expect(first).toBe("stopped");
    expect(trail.depth()).toBe(0);
  });

  it("write 300 records in one INSERT that binds one parameter, with the same statement text every time", async () => {
    const config = trailConfig(workspace, { batchSize: 300 });
    const trail = new AuditTrail(config, pino({ level: "silent" }), writer.execute, { clock: new FakeClock() });
    const run = randomUUID();
    const call = (n: number): AuditEntry => ({
      requestId: `${run}-${n}`,
      mode: "federation",
      credentialSource: "exchange",
      tool: "query_sales_data",
      arguments: { region: "WEST", note: `"quoted" \\ é ${n}` },
      outcome: "allowed",
      rowsReturned: n,
      latencyMs: 7,
      statementIds: [`st-${n}`],
    });
    for (let n = 0; n < 301; n += 1) await trail.record(call(n));
    const sent = workspace.counters.statements.length;
    while (trail.depth() > 0) expect(await trail.drainOnce()).toBe(true);

    const inserts = workspace.counters.statements.slice(sent).filter((s) => s.statement.startsWith("INSERT INTO"));
    expect(inserts.map((s) => (s.parameters as unknown[]).length)).toEqual([1, 1]);
    expect(inserts[1]!.statement).toBe(inserts[0]!.statement);
    const rows = (await readAuditTable(workspace)).filter((r) => r.request_id?.startsWith(`${run}-`));
    expect(rows).toHaveLength(301);
    const row = rows.find((r) => r.request_id === `${run}-42`)!;
    expect(JSON.parse(row.arguments!)).toEqual(call(42).arguments);
    expect(row).toMatchObject({
      rows_returned: "42",
      latency_ms: "7",
      statement_ids: '["st-42"]',
      tool: "query_sales_data",
    });
    await trail.stop();
  });

  it("takes the oldest records first, at most the count, and a record too large for any batch alone", () => {
    const record = (n: number, bytes: number) => ({ record_id: `r${n}`, arguments: "x".repeat(bytes) });
    const small = Array.from({ length: 10 }, (_, n) => record(n, 10));
    expect(cutBatch(small, 4, 1 << 20).map((r) => r.record_id)).toEqual(["r0", "r1", "r2", "r3"]);
    const one = recordInsertBytes(record(0, 1000));
    const fits = cutBatch(
      Array.from({ length: 10 }, (_, n) => record(n, 1000)),
      100,
      INSERT_ENVELOPE_BYTES + 3 * one,
    );
    expect(fits).toHaveLength(3);
    expect(cutBatch([record(0, 100_000), ...small], 100, INSERT_ENVELOPE_BYTES + 1000)).toHaveLength(1);
  });
});
