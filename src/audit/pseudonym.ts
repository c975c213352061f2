import { createHash } from "node:crypto";
import { perCallerMemo } from "../identity/per-caller-memo.js";

/** The salt when `MCP_PSEUDONYM_SALT` is unset (the configuration's default). */
export const DEFAULT_PSEUDONYM_SALT = "databricks-governed-mcp";

/**
 * A stable pseudonymous id of a human for query tags: the workspace's query history can be joined back to the audit
 * row without putting an email or IdP subject into every statement's metadata. A Federation human is the pair
 * (issuer, subject): the same `sub` from two IdPs gets two pseudonyms.
 */
export function pseudonymFor(human: string | undefined, options: { issuer?: string; salt?: string } = {}): string {
  return human ? digest(digestInput(human, options.issuer, options.salt ?? DEFAULT_PSEUDONYM_SALT)) : "none";
}

/**
 * `pseudonymFor` under one salt, remembered for the most recent `maxEntries` humans: a returning caller costs a lookup,
 * not a digest.
 */
export function pseudonyms(salt: string, maxEntries: number): (human: string | undefined, issuer?: string) => string {
  const remembered = perCallerMemo(maxEntries, digest);
  return (human, issuer) => (human ? remembered(digestInput(human, issuer, salt)) : "none");
}

function digestInput(human: string, issuer: string | undefined, salt: string): string {
  // Without an issuer the input keeps its earlier form (emails compare case-insensitively), so those pseudonyms stay
  // stable; with one, JSON keeps issuer and subject apart, and the separator after the salt keeps both forms apart.
  return issuer === undefined ? `${salt}:${human.toLowerCase()}` : `${salt}\u0000${JSON.stringify([issuer, human])}`;
}

const digest = (input: string) => `h_${createHash("sha256").update(input).digest("hex").slice(0, 16)}`;
