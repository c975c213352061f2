import { createHash } from "node:crypto";

/**
 * A stable pseudonymous id of a human for query tags: the workspace's query history can be joined back to the audit
 * row without putting an email or IdP subject into every statement's metadata.
 */
export function pseudonymFor(
  human: string | undefined,
  salt = process.env.MCP_PSEUDONYM_SALT ?? "databricks-governed-mcp",
): string {
  if (!human) return "none";
  return `h_${createHash("sha256").update(`${salt}:${human.toLowerCase()}`).digest("hex").slice(0, 16)}`;
}
