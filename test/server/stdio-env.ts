import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LocalWorkspace } from "../../emulator/workspace.js";

/** The server's own service principal in the seed: the audit writer, and the stdio M2M identity. */
export function serverServicePrincipal(workspace: LocalWorkspace) {
  return workspace.context.seed.servicePrincipals.find((sp) => sp.displayName === "mcp-server-sp")!;
}

/**
 * The environment of a server process pointed at a running local workspace as if it were a real one
 * (DATABRICKS_HOST set: nothing embedded), with its own spool directory and optional file configuration.
 */
export function workspaceEnv(
  workspace: LocalWorkspace,
  options: { spoolDir?: string; config?: Record<string, unknown>; extra?: Record<string, string> } = {},
): Record<string, string> {
  const { seed } = workspace.context;
  const sp = serverServicePrincipal(workspace);
  const env: Record<string, string> = {
    DATABRICKS_HOST: workspace.baseUrl,
    DATABRICKS_WAREHOUSE_ID: seed.warehouses[0]!.id,
    DATABRICKS_GENIE_SPACE_ID: seed.genieSpaces[0]!.id,
    DATABRICKS_VECTOR_INDEX: seed.vectorIndexes[0]!.name,
    DATABRICKS_SUPERVISOR_ENDPOINT: seed.servingEndpoints[0]!.name,
    MCP_AUDIT_TABLE: seed.tables.audit.name,
    MCP_SALES_TABLE: seed.tables.deals.name,
    DATABRICKS_CLIENT_ID: sp.applicationId,
    DATABRICKS_CLIENT_SECRET: sp.secret!,
    MCP_AUDIT_SPOOL_DIR: options.spoolDir ?? mkdtempSync(join(tmpdir(), "governed-mcp-stdio-spool-")),
    LOG_LEVEL: "warn",
    ...options.extra,
  };
  if (options.config) {
    const path = join(mkdtempSync(join(tmpdir(), "governed-mcp-config-")), "config.json");
    writeFileSync(path, JSON.stringify(options.config));
    env.MCP_CONFIG_FILE = path;
  }
  return env;
}
