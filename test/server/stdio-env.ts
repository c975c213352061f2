import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LocalWorkspace } from "../../emulator/workspace.js";
import { operatorEnvironment } from "../support/workspace-env.js";

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
  const env: Record<string, string> = {
    ...operatorEnvironment(workspace),
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
