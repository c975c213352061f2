import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { recordInsertBytes } from "../../src/audit/audit-insert.js";
import { AuditTrail, type StatementExecutor } from "../../src/audit/audit-trail.js";
import { AuditSpool } from "../../src/audit/spool.js";
import type { AuditEntry, AuditIntent } from "../../src/mcp/tool-dispatcher.js";
import { readAuditTable } from "../support/audit-table.js";
import { FakeClock } from "../support/fake-clock.js";
import { auditWriter, trailConfig } from "./audit-writer.js";

const silent = pino({ level: "silent" });
const unreachable: StatementExecutor = async () => {
  throw new Error("no table in this test");
};

/** A sync the test releases by hand, so what waits on the disk can be seen waiting. */
function gatedSync() {
  const gates: (() => void)[] = [];
  return { gates, sync: () => new Promise<void>((release) => void gates.push(release)) };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The turns after `begin` in which the request its intent precedes is written; an idle disk's sync starts after them. */
const requestTurns = async () => {
  await settle();
  await settle();
};

function tracked(promise: Promise<void>) {
  const state = { settled: false };
  void promise.then(() => (state.settled = true));
  return state;
}

const intentOf = (requestId: string, args: unknown = { question: "discount policy" }): AuditIntent => ({
  requestId,
  mode: "obo",
  credentialSource: "header",
  human: "olivia.obo@example.com",
  workspacePrincipal: "olivia.obo@example.com",
  role: "west_sales",
  tool: "query_sales_data",
  arguments: args,
});

const outcomeOf = (intent: AuditIntent, more: Partial<AuditEntry> = {}): AuditEntry => ({
  ...intent,
  outcome: "allowed",
  rowsReturned: 3,
  latencyMs: 12,
  statementIds: ["st-1"],
  ...more,
});

const spoolLines = (dir: string) =>
  readFileSync(join(dir, "audit-spool.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe("a call that reaches the workspace", () => {
  it("has its intent in the spool before the workspace is asked, and its answer waits until the intent is on disk", async () => {
    const { gates, sync } = gatedSync();
    const config = trailConfig(undefined);
    const trail = new AuditTrail(config, silent, unreachable, { clock: new FakeClock(), sync });
    const intent = intentOf("req-intent");
    trail.begin(intent);
    // In the file at once: a crash of the process from here on leaves the intent behind.
    expect(spoolLines(config.audit.spoolDir)).toEqual([
      { intent: expect.objectContaining({ request_id: "req-intent", outcome: "unknown", tool: "query_sales_data" }) },
    ]);
    const answered = tracked(trail.record(outcomeOf(intent)));
    await settle();
    expect(answered.settled).toBe(false);
    gates[0]!();
    await settle();
    expect(answered.settled).toBe(true);
  });

  it("under load shares a group commit for its intent, which its answer starts at the latest", async () => {
    const clock = new FakeClock();
    const { gates, sync } = gatedSync();
    const trail = new AuditTrail(trailConfig(undefined, { commitDelayMs: 10 }), silent, unreachable, { clock, sync });
    const first = intentOf("req-first");
    const second = intentOf("req-second");
    trail.begin(first);
    await requestTurns();
    expect(gates).toHaveLength(1); // an idle disk: the first intent's sync starts at once
    trail.begin(second);
    await settle();
    expect(gates).toHaveLength(1); // a sync is under way: the second intent waits for the group
    gates[0]!();
    const answered = tracked(trail.record(outcomeOf(second)));
    await settle();
    // Its answer is ready before the commit delay ran out (the clock never moved): it starts the sync itself.
    expect(gates).toHaveLength(2);
    expect(answered.settled).toBe(false);
    gates[1]!();
    await settle();
    expect(answered.settled).toBe(true);
    expect(clock.waiting).toBe(0);
  });

  it("beside other calls under way waits for the group commit even when no sync runs, within the commit delay", async () => {
    const clock = new FakeClock();
    const { gates, sync } = gatedSync();
    const trail = new AuditTrail(trailConfig(undefined, { commitDelayMs: 10 }), silent, unreachable, { clock, sync });
    trail.begin(intentOf("req-running"));
    await requestTurns();
    gates[0]!(); // the first call's intent is on disk; that call is still under way
    await settle();
    const second = intentOf("req-beside");
    trail.begin(second);
    await requestTurns();
    expect(gates).toHaveLength(1); // no sync of its own, though the disk is idle
    await clock.advance(9);
    expect(gates).toHaveLength(1);
    await clock.advance(1);
    expect(gates).toHaveLength(2); // the commit delay ran out: one sync for whatever was appended meanwhile
    gates[1]!();
    await settle();
    // Its intent on disk, its answer needs no sync of its own.
    await trail.record(outcomeOf(second));
    expect(gates).toHaveLength(2);
  });

  it("is answered with its outcome in the kernel, and the outcome reaches the disk within the commit delay", async () => {
    const clock = new FakeClock();
    const { gates, sync } = gatedSync();
    const config = trailConfig(undefined, { commitDelayMs: 7 });
    const trail = new AuditTrail(config, silent, unreachable, { clock, sync });
    const intent = intentOf("req-outcome");
    trail.begin(intent);
    await requestTurns();
    gates[0]!(); // the intent is on disk while the call runs
    await trail.record(outcomeOf(intent));
    const lines = spoolLines(config.audit.spoolDir);
    expect(lines[1]).toEqual({ outcome: expect.objectContaining({ outcome: "allowed", rows_returned: 3 }) });
    // Answered without a sync of its own: the outcome waits for the group commit.
    expect(gates).toHaveLength(1);
    await clock.advance(6);
    expect(gates).toHaveLength(1);
    await clock.advance(1);
    expect(gates).toHaveLength(2);
    gates[1]!();
  });

  it("refused before the workspace (never begun) is answered only once its whole record is on disk", async () => {
    const { gates, sync } = gatedSync();
    const trail = new AuditTrail(trailConfig(undefined), silent, unreachable, { clock: new FakeClock(), sync });
    const answered = tracked(
      trail.record({ ...outcomeOf(intentOf("req-refused")), outcome: "denied", errorCode: "TOOL_NOT_ALLOWED" }),
    );
    await settle();
    expect(gates).toHaveLength(1);
    expect(answered.settled).toBe(false);
    gates[0]!();
    await settle();
    expect(answered.settled).toBe(true);
  });

  it("keeps its record within the size ceiling when the outcome needs more room than the intent left", async () => {
    const maxRecordBytes = 8192;
    const config = trailConfig(undefined, { maxRecordBytes });
    const trail = new AuditTrail(config, silent, unreachable, { clock: new FakeClock() });
    const intent = intentOf("req-big", { text: Array.from({ length: 40 }, (_, i) => `${i}`.repeat(400)) });
    trail.begin(intent);
    const ids = Array.from({ length: 60 }, () => randomUUID());
    await trail.record(outcomeOf(intent, { statementIds: ids }));
    const [record] = new AuditSpool(config.audit.spoolDir).pending();
    expect(recordInsertBytes(record!)).toBeLessThanOrEqual(maxRecordBytes);
    expect(JSON.parse(String(record!.statement_ids))).toContain(ids[0]);
    expect(JSON.parse(String(record!.arguments))).toHaveProperty("$summary");
  });
});

describe("recovery after the process dies (the spool files as a kill -9 leaves them)", () => {
  it("joins each intent with its outcome, and turns an intent without one into an 'unknown' record of who asked what", async () => {
    const config = trailConfig(undefined);
    const trail = new AuditTrail(config, silent, unreachable, { clock: new FakeClock() });
    const finished = intentOf("req-finished");
    const cut = intentOf("req-cut", { question: "west region totals" });
    trail.begin(finished);
    trail.begin(cut);
    await trail.record(outcomeOf(finished));
    // No stop, no close: the next process opens the files as they are.
    const reopened = new AuditSpool(config.audit.spoolDir);
    const byRequest = new Map(reopened.pending().map((r) => [r.request_id, r]));
    expect(byRequest.get("req-finished")).toMatchObject({ outcome: "allowed", rows_returned: 3, latency_ms: 12 });
    expect(byRequest.get("req-cut")).toMatchObject({
      outcome: "unknown",
      error_code: null,
      rows_returned: null,
      latency_ms: null,
      statement_ids: "[]",
      human: "olivia.obo@example.com",
      tool: "query_sales_data",
      arguments: JSON.stringify({ question: "west region totals" }),
    });
    expect(reopened.depth()).toBe(2);
    await reopened.close();
  });
});

describe("exactly once into the audit table, whatever step the process died at", () => {
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

  /** The process dies right after the INSERT reached the table and before its acknowledgement was written. */
  const insertThenDie: () => StatementExecutor = () => async (statement, parameters) => {
    await writer.execute(statement, parameters);
    throw new Error("the process died here");
  };

  it.each([
    ["after the intent, before the outcome", "intent"],
    ["after the outcome, before the table write", "outcome"],
    ["after the table write, before its acknowledgement", "inserted"],
    ["after the acknowledgement", "acked"],
  ] as const)("%s: one row per call after the restart", async (_label, step) => {
    const config = trailConfig(workspace);
    const run = randomUUID();
    const first = new AuditTrail(config, silent, step === "inserted" ? insertThenDie() : writer.execute, {
      clock: new FakeClock(),
    });
    const before = intentOf(`${run}-before`);
    const during = intentOf(`${run}-during`);
    first.begin(before);
    await first.record(outcomeOf(before));
    first.begin(during);
    if (step !== "intent") await first.record(outcomeOf(during));
    if (step === "inserted") expect(await first.drainOnce()).toBe(false);
    if (step === "acked") expect(await first.drainOnce()).toBe(true);

    const second = new AuditTrail(config, silent, writer.execute, { clock: new FakeClock() });
    while (second.depth() > 0) expect(await second.drainOnce()).toBe(true);
    await second.stop();
    const rows = (await readAuditTable(workspace)).filter((r) => r.request_id?.startsWith(run));
    expect(rows.map((r) => [r.request_id, r.outcome]).sort()).toEqual([
      [`${run}-before`, "allowed"],
      [`${run}-during`, step === "intent" ? "unknown" : "allowed"],
    ]);
  });
});
