import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";

/** Pseudonyms already computed, per salt and human: a returning caller costs a lookup, not a digest. */
const known = new LRUCache<string, string>({ max: 10_000 });

/**
 * A stable pseudonymous id of a human for query tags: the workspace's query history can be joined back to the audit
 * row without putting an email or IdP subject into every statement's metadata.
 */
export function pseudonymFor(
  human: string | undefined,
  salt = process.env.MCP_PSEUDONYM_SALT ?? "databricks-governed-mcp",
): string {
  if (!human) return "none";
  const input = `${salt}:${human.toLowerCase()}`;
  let pseudonym = known.get(input);
  if (pseudonym === undefined) {
    pseudonym = `h_${createHash("sha256").update(input).digest("hex").slice(0, 16)}`;
    known.set(input, pseudonym);
  }
  return pseudonym;
}
