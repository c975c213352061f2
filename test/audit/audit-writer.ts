import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import type { LocalWorkspace } from "../../emulator/workspace.js";
import type { StatementExecutor } from "../../src/audit/audit-trail.js";
import { parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { WorkspaceHttpClient } from "../../src/databricks/http-client.js";
import { createWorkspaceApi } from "../../src/databricks/workspace-api.js";
import { servicePrincipalToken } from "../support/workspace-tokens.js";

/** A configuration for an audit trail of its own (a fresh spool directory), writing to the local workspace's table. */
export function trailConfig(workspace: LocalWorkspace | undefined, audit: Record<string, unknown> = {}): Config {
  const seed = workspace?.context.seed;
  return parseConfig({
    workspace: {
      warehouseId: seed?.warehouses[0]!.id ?? "wh",
      genieSpaceId: "space",
      auditTable: seed?.tables.audit.name ?? "main.governance.mcp_audit",
    },
    audit: { spoolDir: mkdtempSync(join(tmpdir(), "audit-trail-test-")), ...audit },
  });
}

/**
 * The audit writer as the server runs it: the server's own service principal sending each batch to the Statement
 * Execution API, one attempt per write (the trail decides what happens after a failure).
 */
export async function auditWriter(
  workspace: LocalWorkspace,
): Promise<{ execute: StatementExecutor; close(): Promise<void> }> {
  const sp = workspace.context.seed.servicePrincipals.find((s) => s.displayName === "mcp-server-sp")!;
  const token = await servicePrincipalToken(workspace, sp.applicationId, "sql");
  const http = new WorkspaceHttpClient(workspace.baseUrl, { maxAttempts: 1, circuit: { failureThreshold: 1_000_000 } });
  const credential = {
    token: async () => ({ accessToken: token, expiresAt: Date.now() / 1000 + 3600, scopes: ["sql"] }),
  };
  const api = createWorkspaceApi(http, credential, { requestId: "audit-writer", queryTags: { tool: "audit_writer" } });
  const warehouseId = workspace.context.seed.warehouses[0]!.id;
  return {
    execute: async (statement, parameters) => {
      await api.executeStatement({ warehouseId, statement, parameters, rowLimit: 1 });
    },
    close: () => http.close(),
  };
}

/** A logger whose lines a test can read (parsed JSON), at every level. */
export function capturedLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "trace" }, stream), lines };
}
