import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";

/** The salt when `MCP_PSEUDONYM_SALT` is unset (the configuration's default). */
export const DEFAULT_PSEUDONYM_SALT = "databricks-governed-mcp";

/** Pseudonyms already computed, per salt and human: a returning caller costs a lookup, not a digest. */
const known = new LRUCache<string, string>({ max: 10_000 });

/**
 * A stable pseudonymous id of a human for query tags: the workspace's query history can be joined back to the audit
 * row without putting an email or IdP subject into every statement's metadata. A Federation human is the pair
 * (issuer, subject): the same `sub` from two IdPs gets two pseudonyms.
 */
export function pseudonymFor(human: string | undefined, options: { issuer?: string; salt?: string } = {}): string {
  if (!human) return "none";
  const salt = options.salt ?? DEFAULT_PSEUDONYM_SALT;
  // Without an issuer the input keeps its earlier form (emails compare case-insensitively), so those pseudonyms stay
  // stable; with one, JSON keeps issuer and subject apart, and the separator after the salt keeps both forms apart.
  const input =
    options.issuer === undefined
      ? `${salt}:${human.toLowerCase()}`
      : `${salt}\u0000${JSON.stringify([options.issuer, human])}`;
  let pseudonym = known.get(input);
  if (pseudonym === undefined) {
    pseudonym = `h_${createHash("sha256").update(input).digest("hex").slice(0, 16)}`;
    known.set(input, pseudonym);
  }
  return pseudonym;
}
