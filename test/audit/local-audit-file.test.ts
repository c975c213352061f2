import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { auditDestination, localAuditFilePath } from "../../src/audit/audit-destination.js";
import { AUDIT_COLUMNS, buildAuditInsert } from "../../src/audit/audit-insert.js";
import { localAuditFileWriter } from "../../src/audit/local-audit-file.js";
import type { SpooledRecord } from "../../src/audit/spool.js";
import { loadConfig } from "../../src/config/load.js";
import { connectStdio } from "../support/mcp-clients.js";
import { operatorEnvironment } from "../support/workspace-env.js";

const dir = mkdtempSync(join(tmpdir(), "governed-mcp-local-audit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const record = (n: number): SpooledRecord =>
  ({
    record_id: `rec-${n}`,
    event_time: "2026-11-29T07:00:00.000Z",
    request_id: `req-${n}`,
    mode: "pat",
    credential_source: "env",
    human: "maria.manager@example.com",
    workspace_principal: "maria.manager@example.com",
    role: null,
    tool: "query_sales_data",
    arguments: '{"region":"WEST"}',
    outcome: "allowed",
    error_code: null,
    rows_returned: 3,
    latency_ms: 12,
    statement_ids: "[]",
  }) as unknown as SpooledRecord;

describe("the local audit file", () => {
  it("holds each record of a batch on one line, with the audit table's columns and values", async () => {
    const path = join(dir, "unit", "audit.jsonl");
    const write = localAuditFileWriter(path);
    const batch = buildAuditInsert("main.governance.mcp_audit", [record(1), record(2)]);
    await write(batch.statement, batch.parameters);
    await write(...(Object.values(buildAuditInsert("main.governance.mcp_audit", [record(3)])) as [never, never]));
    const lines = readFileSync(path, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.record_id)).toEqual(["rec-1", "rec-2", "rec-3"]);
    expect(Object.keys(lines[0]!)).toEqual(AUDIT_COLUMNS.map(([c]) => c));
    expect(lines[0]).toMatchObject({ rows_returned: 3, latency_ms: 12, role: null, outcome: "allowed" });
  });
});

describe("where audit records go", () => {
  const host = {
    DATABRICKS_HOST: "https://x.cloud.databricks.com",
    DATABRICKS_WAREHOUSE_ID: "w",
    DATABRICKS_GENIE_SPACE_ID: "g",
  };
  it("to the audit table when a service principal is configured", () => {
    const config = loadConfig({ ...host, DATABRICKS_CLIENT_ID: "sp", DATABRICKS_CLIENT_SECRET: "s" });
    expect(auditDestination(config)).toMatchObject({ kind: "table", writer: "sp" });
  });

  it("to a local file beside the spool for a stdio user with no service principal", () => {
    const config = loadConfig({ ...host, DATABRICKS_TOKEN: "dapi-x", MCP_AUDIT_SPOOL_DIR: "/state/mcp/spool" });
    expect(auditDestination(config)).toMatchObject({ kind: "local-file", path: "/state/mcp/audit.jsonl" });
    expect(localAuditFilePath("/state/mcp/spool")).toBe("/state/mcp/audit.jsonl");
  });

  it("over HTTP a missing service principal is a configuration error naming both variables", () => {
    const config = loadConfig({ ...host, MCP_TRANSPORT: "http" });
    expect(() => auditDestination(config)).toThrow(
      expect.objectContaining({
        code: "CONFIG_INVALID",
        message: expect.stringMatching(/^DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET are not set/),
      }),
    );
  });
});

describe("stdio with the user's own token and no service principal secret", () => {
  let workspace: LocalWorkspace;
  beforeAll(async () => {
    workspace = await startLocalWorkspace({});
  });
  afterAll(async () => {
    await workspace?.close();
  });

  it("starts, serves a tool call as the user, and keeps its audit record in the local file", async () => {
    const {
      DATABRICKS_CLIENT_ID: _id,
      DATABRICKS_CLIENT_SECRET: _secret,
      ...withoutServicePrincipal
    } = operatorEnvironment(workspace);
    const { access_token } = await workspace.tokens.issue("maria.manager@example.com", ["all-apis"], 3600);
    const spoolDir = join(dir, "stdio", "spool");
    const client = await connectStdio({
      ...withoutServicePrincipal,
      DATABRICKS_TOKEN: access_token,
      MCP_AUDIT_SPOOL_DIR: spoolDir,
    });
    try {
      const result = await client.callTool({ name: "check_identity", arguments: {} });
      expect(result.isError).toBeFalsy();
      expect((result.structuredContent as { workspace_principal: string }).workspace_principal).toBe(
        "maria.manager@example.com",
      );
    } finally {
      await client.close();
    }
    // Closing stdin stops the server, which flushes the spool into the file.
    const file = localAuditFilePath(spoolDir);
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({ tool: "check_identity", outcome: "allowed", human: "maria.manager@example.com" }),
    );
    expect(readFileSync(file, "utf8")).not.toContain(access_token);
  });
});
