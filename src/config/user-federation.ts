import type { Config } from "./schema.js";

/**
 * What a user-targeted Federation issuer needs beyond the schema: the rule `user-if-known` asks the workspace whether
 * it knows the user, with the server's own service principal. Returns the one-line fix, or undefined when it holds.
 */
export function userFederationProblem(config: Config): string | undefined {
  const { m2m } = config.identity;
  const ruled = config.identity.federation.issuers.find((issuer) => issuer.exchangeFor === "user-if-known");
  if (ruled && !(m2m.clientId && m2m.clientSecret))
    return `identity.federation.issuers (${ruled.issuer}): exchangeFor user-if-known looks users up as the server's service principal; set DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET.`;
  const pinned = config.identity.federation.issuers.find(
    (issuer) => issuer.exchangeFor === "user" && issuer.subjectTokenSource !== "caller",
  );
  if (pinned)
    return `identity.federation.issuers (${pinned.issuer}): exchangeFor user exchanges the caller's own JWT; set subjectTokenSource to caller (MCP_FEDERATION_SUBJECT_TOKEN_SOURCE).`;
  return undefined;
}
