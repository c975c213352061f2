import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { startApp } from "../../src/app.js";
import { AuditTrail } from "../../src/audit/audit-trail.js";
import type { AuditEntry } from "../../src/mcp/tool-dispatcher.js";
import { connectStdio, federationBearer } from "../support/mcp-clients.js";
import { readAuditTable, waitForAudit } from "../support/audit-table.js";
import { rpc, toolAnswer, toolCall } from "../security/support.js";
import { workspaceEnv, serverServicePrincipal } from "../server/stdio-env.js";
import { FakeClock } from "../support/fake-clock.js";
import { capturedLogger, trailConfig } from "./audit-writer.js";

const entry = (n: number, args: unknown = {}): AuditEntry => ({
  requestId: `call-${n}`,
  mode: "federation",
  credentialSource: "exchange",
  tool: "check_identity",
  arguments: args,
  outcome: "allowed",
  latencyMs: 1,
  statementIds: [],
});

const never = async () => {
  throw new Error("no table in this test");
};

describe("the spool's bound (unit)", () => {
  it("refuses new calls at audit.maxSpoolRecords, logging and counting each refusal, not spooling it", async () => {
    const { logger, lines } = capturedLogger();
    const trail = new AuditTrail(trailConfig(undefined, { maxSpoolRecords: 100 }), logger, never, {
      clock: new FakeClock(),
    });
    for (let n = 0; n < 99; n += 1) await trail.record(entry(n));
    expect(trail.admit({ requestId: "call-99", tool: "check_identity" })).toBe(true);
    await trail.record(entry(99));
    expect(trail.admit({ requestId: "refused-1", tool: "check_identity" })).toBe(false);
    expect(trail.depth()).toBe(100);
    expect(trail.refusedCalls).toBe(1);
    expect(lines.filter((l) => l.level === 50)).toMatchObject([{ requestId: "refused-1", tool: "check_identity" }]);
  });

  it("refuses new calls at audit.maxSpoolBytes too", async () => {
    const trail = new AuditTrail(
      trailConfig(undefined, { maxSpoolBytes: 1024 * 1024 }),
      pino({ level: "silent" }),
      never,
      { clock: new FakeClock() },
    );
    const big = { q: Array.from({ length: 50 }, () => "x".repeat(500)) };
    let admitted = 0;
    while (trail.admit({ requestId: `call-${admitted}`, tool: "check_identity" }))
      await trail.record(entry(admitted++, big));
    expect(admitted).toBeLessThan(100);
    expect(trail.spoolBytes()).toBeGreaterThanOrEqual(1024 * 1024);
  });

  it("still spools the records of calls already admitted (headroom), and past the headroom refuses them loudly", async () => {
    const { logger, lines } = capturedLogger();
    const trail = new AuditTrail(trailConfig(undefined, { maxSpoolRecords: 100 }), logger, never, {
      clock: new FakeClock(),
    });
    for (let n = 0; n < 125; n += 1) await trail.record(entry(n));
    await expect(trail.record(entry(125))).rejects.toMatchObject({ code: "AUDIT_UNAVAILABLE" });
    expect(trail.depth()).toBe(125);
    expect(trail.unspooledRecords).toBe(1);
    expect(lines.filter((l) => l.level === 50)).toMatchObject([{ requestId: "call-125" }]);
  });
});

/** A spool directory already holding `count` records, as a server finds it after a long outage of its table. */
function fullSpool(count: number): string {
  const dir = mkdtempSync(join(tmpdir(), "governed-mcp-full-spool-"));
  const lines = Array.from({ length: count }, (_, n) =>
    JSON.stringify({
      record_id: randomUUID(),
      event_time: new Date().toISOString(),
      request_id: `backlog-${n}`,
      mode: "federation",
      credential_source: "exchange",
      tool: "check_identity",
      arguments: "{}",
      outcome: "allowed",
      latency_ms: 1,
      statement_ids: "[]",
    }),
  );
  writeFileSync(join(dir, "audit-spool.jsonl"), `${lines.join("\n")}\n`, { mode: 0o600 });
  return dir;
}

describe("a full spool refuses new tool calls with AUDIT_UNAVAILABLE", () => {
  let workspace: LocalWorkspace;
  beforeAll(async () => {
    workspace = await startLocalWorkspace();
  });
  afterAll(async () => {
    await workspace?.close();
  });

  /** The audit table refuses the server's writer (rate limited), so the spool cannot drain. */
  const blockWriter = () =>
    workspace.faults.add({
      pathPrefix: "/api/2.0/sql/statements",
      principal: serverServicePrincipal(workspace).applicationId,
      failures: { status: 429, count: 1_000_000 },
    });

  it("over HTTP: before any upstream work, logged with its request id, counted, never answered unaudited", async () => {
    blockWriter();
    const spoolDir = fullSpool(100);
    const { logger, lines } = capturedLogger();
    const app = await startApp({
      env: {},
      transport: "http",
      localWorkspace: workspace,
      logger,
      overrides: { server: { port: 0 }, audit: { spoolDir, flushIntervalMs: 50, maxSpoolRecords: 100 } },
    });
    try {
      const mcpUrl = `${app.http!.url}${app.config.server.path}`;
      const admin = await federationBearer(workspace, "admin");
      const adminSp = workspace.context.seed.servicePrincipals.find((s) => s.displayName === "fed-exchange-sp-admin")!;
      const before = {
        requests: workspace.counters.statements.length,
        exchanges: workspace.counters.tokenRequestTotal("token_exchange"),
      };

      const answer = toolAnswer(await rpc(mcpUrl, toolCall("check_identity", {}), admin));
      expect(answer).toMatchObject({ isError: true, code: "AUDIT_UNAVAILABLE", retryAfterS: 30 });
      expect(answer.text).toMatch(/^\[AUDIT_UNAVAILABLE\] .*Retry after 30 s\./);
      // No token exchange, no statement: the call was refused before it reached the workspace.
      expect(workspace.counters.tokenRequestTotal("token_exchange")).toBe(before.exchanges);
      expect(
        workspace.counters.statements.slice(before.requests).some((s) => s.principal === adminSp.applicationId),
      ).toBe(false);
      expect(lines.filter((l) => l.level === 50 && l.requestId === answer.requestId)).toHaveLength(1);
      expect(await app.metrics!.text()).toMatch(/^mcp_audit_spool_full_refusals_total 1$/m);
      expect(readFileSync(join(spoolDir, "audit-spool.jsonl"), "utf8")).not.toContain(answer.requestId);

      // The table is back: the backlog drains, calls are admitted again and audited; the refused one never appears.
      workspace.faults.clear();
      let next = toolAnswer(await rpc(mcpUrl, toolCall("check_identity", {}), admin));
      for (let i = 0; i < 300 && next.code === "AUDIT_UNAVAILABLE"; i += 1) {
        await new Promise((r) => setTimeout(r, 100));
        next = toolAnswer(await rpc(mcpUrl, toolCall("check_identity", {}), admin));
      }
      expect(next.isError).toBe(false);
      const rows = await waitForAudit(workspace, (r) => r.some((x) => x.request_id === next.requestId));
      expect(rows.some((x) => x.request_id === next.requestId)).toBe(true);
      expect(rows.some((x) => x.request_id === answer.requestId)).toBe(false);
    } finally {
      workspace.faults.clear();
      await app.stop();
    }
  });

  it("over stdio too (MCP_AUDIT_SPOOL_MAX_RECORDS)", async () => {
    blockWriter();
    const spoolDir = fullSpool(100);
    const { access_token } = await workspace.tokens.issue("olivia.obo@example.com", ["all-apis"], 3600);
    const client = await connectStdio(
      workspaceEnv(workspace, {
        spoolDir,
        extra: { DATABRICKS_TOKEN: access_token, MCP_AUDIT_SPOOL_MAX_RECORDS: "100" },
      }),
    );
    try {
      const statements = workspace.counters.statements.length;
      const result = await client.callTool({ name: "check_identity", arguments: {} });
      expect(result.isError).toBe(true);
      expect(result._meta).toMatchObject({ error_code: "AUDIT_UNAVAILABLE", retry_after_s: 30 });
      expect(
        workspace.counters.statements.slice(statements).some((s) => s.principal === "olivia.obo@example.com"),
      ).toBe(false);
      const id = (result._meta as { request_id: string }).request_id;
      expect(readFileSync(join(spoolDir, "audit-spool.jsonl"), "utf8")).not.toContain(id);
      expect((await readAuditTable(workspace)).some((r) => r.request_id === id)).toBe(false);
    } finally {
      workspace.faults.clear();
      await client.close();
    }
  });
});
