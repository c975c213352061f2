import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { AuditTrail } from "../../src/audit/audit-trail.js";
import type { SpooledRecord } from "../../src/audit/spool.js";
import { ServerMetrics } from "../../src/observability/metrics.js";
import { readAuditTable } from "../support/audit-table.js";
import { FakeClock } from "../support/fake-clock.js";
import { auditWriter, capturedLogger, trailConfig } from "./audit-writer.js";

let workspace: LocalWorkspace;
let writer: Awaited<ReturnType<typeof auditWriter>>;
let writerPrincipal: string;

beforeAll(async () => {
  workspace = await startLocalWorkspace();
  writer = await auditWriter(workspace);
  writerPrincipal = workspace.context.seed.servicePrincipals.find(
    (s) => s.displayName === "mcp-server-sp",
  )!.applicationId;
});
afterAll(async () => {
  await writer?.close();
  await workspace?.close();
});

/** A record as a spool holds it, every column valid for the table unless `overrides` says otherwise. */
function spooledRecord(run: string, n: number, overrides: Record<string, unknown> = {}): SpooledRecord {
  return {
    record_id: randomUUID(),
    event_time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    request_id: `${run}-${n}`,
    mode: "federation",
    credential_source: "exchange",
    human: "wendy.west@example.com",
    workspace_principal: null,
    role: "west_sales",
    tool: "check_identity",
    arguments: "{}",
    outcome: "allowed",
    error_code: null,
    rows_returned: 1,
    latency_ms: 5,
    statement_ids: "[]",
    ...overrides,
  };
}

/** A trail over a spool that already holds `records` (as after a restart), with its log lines and a metrics view. */
function trailOver(records: SpooledRecord[], audit: Record<string, unknown> = {}) {
  const config = trailConfig(workspace, audit);
  writeFileSync(
    join(config.audit.spoolDir, "audit-spool.jsonl"),
    records.map((r) => `${JSON.stringify(r)}\n`).join(""),
    { mode: 0o600 },
  );
  const { logger, lines } = capturedLogger();
  const trail = new AuditTrail(config, logger, writer.execute, { clock: new FakeClock() });
  const metrics = new ServerMetrics({ audit: () => trail });
  return { trail, config, lines, metrics, deadLetterPath: join(config.audit.spoolDir, "audit-dead-letter.jsonl") };
}

/** Drives the writer by hand until the spool is empty or `attempts` writes were made. */
async function drain(trail: AuditTrail, attempts = 200): Promise<{ writes: number; failures: number }> {
  let writes = 0;
  let failures = 0;
  while (trail.depth() > 0 && writes < attempts) {
    writes += 1;
    if (!(await trail.drainOnce())) failures += 1;
  }
  return { writes, failures };
}

const rowsOf = async (run: string) =>
  (await readAuditTable(workspace)).filter((r) => r.request_id?.startsWith(`${run}-`)).map((r) => r.request_id);

function deadLetters(path: string): { error_code: string; upstream_status: number | null; record: SpooledRecord }[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { error_code: string; upstream_status: number | null; record: SpooledRecord });
}

describe("a record the workspace refuses", () => {
  it("is isolated, set aside in the dead-letter file (0600), and the records behind it are written", async () => {
    const run = randomUUID();
    // The table's event_time is NOT NULL, and from_json reads a time it cannot parse as null.
    const poison = spooledRecord(run, 5, { event_time: "not a time", request_id: `poison-${run}` });
    const good = Array.from({ length: 30 }, (_, n) => spooledRecord(run, n));
    const { trail, lines, metrics, deadLetterPath } = trailOver([...good.slice(0, 5), poison, ...good.slice(5)], {
      batchSize: 8,
    });
    const { failures } = await drain(trail);

    expect(failures).toBe(0); // a refusal is never handled as an outage: no backoff
    expect(trail.depth()).toBe(0);
    expect((await rowsOf(run)).sort()).toEqual(good.map((r) => r.request_id).sort());
    expect(deadLetters(deadLetterPath)).toEqual([
      { set_aside_at: expect.any(String), error_code: "QUERY_FAILED", upstream_status: null, record: poison },
    ]);
    expect(statSync(deadLetterPath).mode & 0o777).toBe(0o600);
    expect(trail.deadLetters).toBe(1);
    expect(await metrics.text()).toMatch(/^mcp_audit_dead_letters_total 1$/m);
    // One error line, naming ids and codes only: nothing of the record's content.
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      recordId: poison.record_id,
      requestId: poison.request_id,
      errorCode: "QUERY_FAILED",
    });
    expect(JSON.stringify(lines)).not.toMatch(/many|wendy/);
    await trail.stop();
  });

  it("a record larger than the workspace's 16 MiB request limit (spooled before the bound existed) is set aside alone", async () => {
    const run = randomUUID();
    const giant = spooledRecord(run, 1, {
      request_id: `giant-${run}`,
      arguments: JSON.stringify({ q: "x".repeat(17 * 1024 * 1024) }),
    });
    const good = [spooledRecord(run, 0), spooledRecord(run, 2), spooledRecord(run, 3)];
    const { trail, deadLetterPath } = trailOver([good[0]!, giant, good[1]!, good[2]!]);
    await drain(trail);
    expect((await rowsOf(run)).sort()).toEqual(good.map((r) => r.request_id).sort());
    const [set] = deadLetters(deadLetterPath);
    expect(set).toMatchObject({ error_code: "INVALID_ARGUMENT", upstream_status: 400 });
    expect(set!.record.record_id).toBe(giant.record_id);
    await trail.stop();
  });
});

describe("a workspace outage", () => {
  it.each([
    ["503 answers", { failures: { status: 503 as const, count: 1_000_000 } }],
    ["429 answers", { failures: { status: 429 as const, count: 1_000_000 } }],
    ["connection resets", { resets: 1_000_000 }],
  ])(
    "(%s) dead-letters nothing: every record waits, and all are written once the workspace is back",
    async (_kind, fault) => {
      const run = randomUUID();
      const records = Array.from({ length: 12 }, (_, n) => spooledRecord(run, n));
      const { trail, deadLetterPath } = trailOver(records, { batchSize: 4 });
      workspace.faults.add({ pathPrefix: "/api/2.0/sql/statements", principal: writerPrincipal, ...fault });
      try {
        for (let i = 0; i < 20; i += 1) expect(await trail.drainOnce()).toBe(false);
        expect(trail.depth()).toBe(12);
      } finally {
        workspace.faults.clear();
      }
      expect(deadLetters(deadLetterPath)).toEqual([]);
      expect(trail.deadLetters).toBe(0);
      await drain(trail);
      expect((await rowsOf(run)).sort()).toEqual(records.map((r) => r.request_id).sort());
      await trail.stop();
    },
  );
});
