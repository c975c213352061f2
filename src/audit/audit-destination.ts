import { dirname, join, resolve } from "node:path";
import { ConfigError } from "../config/load.js";
import type { Config } from "../config/schema.js";

/** Where audit records end up after the durable spool: the workspace's audit table, or a local file. */
export type AuditDestination =
  { kind: "table"; table: string; writer: string } | { kind: "local-file"; path: string; reason: string };

/**
 * The one decision of where audit records go. With a service principal (DATABRICKS_CLIENT_ID/SECRET) they are written
 * to the audit table. A stdio user acting with their own token, profile or login needs no service principal: records
 * then stay in a local file beside the spool, in the table's record format. Over HTTP a writer is required.
 */
export function auditDestination(config: Config): AuditDestination {
  const { clientId, clientSecret } = config.identity.m2m;
  if (clientId && clientSecret) return { kind: "table", table: config.workspace.auditTable, writer: clientId };
  if (config.server.transport === "stdio")
    return {
      kind: "local-file",
      path: localAuditFilePath(config.audit.spoolDir),
      reason: "no service principal configured (DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET)",
    };
  throw new ConfigError(
    "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET are not set: the audit writer (the server's service principal) needs them over HTTP.",
  );
}

/** The local audit file: `audit.jsonl` next to the spool directory (by default in the user state directory). */
export function localAuditFilePath(spoolDir: string): string {
  return join(dirname(resolve(spoolDir)), "audit.jsonl");
}

/** One sentence for whoami and doctor. */
export function describeAuditDestination(destination: AuditDestination): string {
  return destination.kind === "table"
    ? `audit table ${destination.table}, written by service principal ${destination.writer}`
    : `local file ${destination.path} (${destination.reason}); the same records, not in the workspace`;
}
