import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { connectStdio } from "../support/mcp-clients.js";
import { workspaceEnv } from "../server/stdio-env.js";
import { readAuditTable, requestIdOf, waitForAudit, type AuditRow } from "../support/audit-table.js";

let workspace: LocalWorkspace;
let spoolDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 5 });
  spoolDir = mkdtempSync(join(tmpdir(), "governed-mcp-crash-spool-"));
  const { access_token } = await workspace.tokens.issue("olivia.obo@example.com", ["all-apis"], 3600);
  env = workspaceEnv(workspace, { spoolDir, extra: { DATABRICKS_TOKEN: access_token } });
}, 30_000);
afterAll(async () => {
  await workspace?.close();
});

/** Kills the server process the way a crash or an OOM killer does: no shutdown hook runs. Resolves once it is gone. */
async function kill9(client: Client): Promise<void> {
  const pid = (client.transport as StdioClientTransport).pid!;
  // The transport closes on the child's `close` event: the process has exited and its pipes are shut.
  const exited = new Promise<void>((resolve) => (client.onclose = resolve));
  process.kill(pid, "SIGKILL");
  await exited;
  await client.close().catch(() => undefined);
}

const countOf = (rows: AuditRow[], id: string) => rows.filter((r) => r.request_id === id).length;

describe("the audit trail across a warehouse outage and kill -9", () => {
  const ids: string[] = [];

  it("keeps every record spooled while the warehouse fails, then loses none and duplicates none after a SIGKILL and restart", async () => {
    workspace.faults.add({ pathPrefix: "/api/2.0/sql/statements", failures: { status: 503, count: 100_000 } });
    const first = await connectStdio(env);
    // Calls that need no warehouse succeed; the audit writer still cannot reach the table.
    for (let i = 0; i < 4; i += 1)
      ids.push(
        requestIdOf(await first.callTool({ name: "query_knowledge_base", arguments: { query: `discount ${i}` } })),
      );
    // A call that needs the warehouse fails, and is audited too.
    const failed = await first.callTool({ name: "check_identity", arguments: {} });
    expect(failed.isError).toBe(true);
    ids.push(requestIdOf(failed));
    await kill9(first);
    workspace.faults.clear();

    expect((await readAuditTable(workspace)).filter((r) => ids.includes(r.request_id!))).toEqual([]);
    const pendingOnDisk = readFileSync(join(spoolDir, "audit-spool.jsonl"), "utf8");
    for (const id of ids) expect(pendingOnDisk).toContain(id);

    const second = await connectStdio(env);
    try {
      const rows = await waitForAudit(workspace, (r) => ids.every((id) => countOf(r, id) >= 1));
      for (const id of ids) expect(countOf(rows, id)).toBe(1);
      const failedRow = rows.find((r) => r.request_id === ids[4]);
      expect(failedRow).toMatchObject({
        tool: "check_identity",
        outcome: "failed",
        error_code: "UPSTREAM_UNAVAILABLE",
      });
    } finally {
      await kill9(second);
    }
  }, 60_000);

  it("does not duplicate rows when the process died after the table write but before the acknowledgement", async () => {
    // Wait until the previous run acknowledged its batch, then forget the acknowledgements, as a crash right
    // after the INSERT and before the ack reached the disk would.
    const ackPath = join(spoolDir, "audit-acked.jsonl");
    expect(existsSync(ackPath)).toBe(true);
    writeFileSync(ackPath, "");
    const third = await connectStdio(env);
    try {
      // On start the spool found every record unacknowledged again; the batch is rewritten, idempotently.
      const replayed = readFileSync(join(spoolDir, "audit-spool.jsonl"), "utf8");
      for (const id of ids) expect(replayed).toContain(id);
      let acked = "";
      // The writer batches: poll, bounded generously, until the acknowledgements have landed.
      for (const end = Date.now() + 30_000; Date.now() < end; await sleep(50)) {
        acked = readFileSync(ackPath, "utf8");
        if (acked.trim().split("\n").length >= ids.length) break;
      }
      expect(acked.trim().split("\n").length).toBeGreaterThanOrEqual(ids.length);
      const rows = await readAuditTable(workspace);
      for (const id of ids) expect(countOf(rows, id)).toBe(1);
    } finally {
      await kill9(third);
    }
  }, 60_000);

  it("leaves one row with outcome 'unknown' for a call cut by kill -9 while the workspace worked on it, under the request id its statement carries", async () => {
    const server = await connectStdio(env);
    // Start-up asks SCIM who the token is; the stall below is for the call, so start-up must be over first.
    await server.listTools();
    const spoolPath = join(spoolDir, "audit-spool.jsonl");
    // check_identity asks SCIM and runs a statement at once; SCIM never answers, so the call is under way when killed.
    workspace.faults.add({ pathPrefix: "/api/2.0/preview/scim/v2/Me", stalls: 1 });
    const answered = server.callTool({ name: "check_identity", arguments: {} }).then(
      () => true,
      () => false,
    );
    let requestId: string | undefined;
    const tagged = () =>
      workspace.counters.statements.some((s) =>
        (s.queryTags as { key: string; value: string }[] | undefined)?.some(
          (t) => t.key === "request_id" && t.value === requestId,
        ),
      );
    // Bounded generously: the intent is in the spool file, and its statement reached the warehouse.
    for (const end = Date.now() + 30_000; Date.now() < end && !(requestId && tagged()); await sleep(20)) {
      const intent = readFileSync(spoolPath, "utf8")
        .split("\n")
        .flatMap((line) => {
          try {
            return [(JSON.parse(line) as { intent?: { request_id: string; tool: string } }).intent];
          } catch {
            return [];
          }
        })
        .find((i) => i?.tool === "check_identity");
      requestId = intent?.request_id;
    }
    expect(requestId).toBeDefined();
    expect(tagged()).toBe(true);
    await kill9(server);
    expect(await answered).toBe(false);
    workspace.faults.clear();

    const restarted = await connectStdio(env);
    try {
      const rows = await waitForAudit(workspace, (r) => countOf(r, requestId!) >= 1);
      expect(countOf(rows, requestId!)).toBe(1);
      expect(rows.find((r) => r.request_id === requestId)).toMatchObject({
        tool: "check_identity",
        outcome: "unknown",
        human: "olivia.obo@example.com",
        statement_ids: "[]",
      });
    } finally {
      await kill9(restarted);
    }
  }, 60_000);
});
