import type { CallerIdentity } from "../identity/types.js";

/** The key of the verified Federation issuer in the audit row's `arguments`. */
export const ISSUER_KEY = "$issuer";
/** Where the caller's arguments go when they cannot sit beside `$issuer`. */
const NESTED_KEY = "$arguments";

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const usesOurKeys = (args: Record<string, unknown>) =>
  Object.hasOwn(args, ISSUER_KEY) || Object.hasOwn(args, NESTED_KEY);

/**
 * The arguments an audit record keeps, with the issuer that verified a Federation caller under `$issuer`.
 *
 * The table has no issuer column. `human` stays the IdP subject (what `query_audit_log`'s `user` filter matches and
 * check_identity shows) and `credential_source` stays `exchange` (a fixed vocabulary), so no existing reader changes
 * meaning; `arguments` is already JSON, `$`-keys there are the server's own (like `$summary`), and the issuer is read
 * with `arguments:['$issuer']`, even when the arguments were too large and only their summary is kept beside it. A
 * `$issuer` a caller sent never stands beside the verified one: arguments that use the server's keys, or are not an
 * object, are kept whole under `$arguments`.
 */
export function withVerifiedIssuer(args: unknown, identity: Pick<CallerIdentity, "issuer"> | undefined): unknown {
  const issuer = identity?.issuer;
  const nest = !isPlainObject(args) || usesOurKeys(args);
  if (issuer === undefined && !(isPlainObject(args) && usesOurKeys(args))) return args;
  return nest ? { [ISSUER_KEY]: issuer ?? null, [NESTED_KEY]: args } : { [ISSUER_KEY]: issuer, ...args };
}

/** The inverse, for a record that keeps only a summary: the issuer (when there is one) and what the caller sent. */
export function splitVerifiedIssuer(args: unknown): { issuer?: unknown; sent: unknown } {
  if (!isPlainObject(args) || !Object.hasOwn(args, ISSUER_KEY)) return { sent: args };
  const { [ISSUER_KEY]: issuer, [NESTED_KEY]: nested, ...rest } = args;
  return { issuer, sent: Object.hasOwn(args, NESTED_KEY) ? nested : rest };
}
