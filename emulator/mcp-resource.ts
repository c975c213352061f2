import type { LocalWorkspace } from "./workspace.js";

/**
 * What an operator does when an MCP server's clients sign in at the local IdP with RFC 8707 resource indicators: the
 * IdP learns the server's resource URLs (tokens for them carry them as `aud`), and every federation policy that trusts
 * the local IdP accepts those audiences in the token exchange (as `databricks account ... federation-policy update`).
 */
export function trustMcpResource(workspace: LocalWorkspace, resources: readonly string[]): void {
  const { seed } = workspace.context;
  const policies = [
    ...seed.servicePrincipals.flatMap((sp) => sp.federationPolicies),
    ...seed.accountFederationPolicies,
  ].filter((policy) => policy.issuer === "local-idp");
  for (const resource of resources) {
    workspace.idp.registerResource(resource);
    for (const policy of policies) {
      const audiences = policy.audiences ?? [seed.workspace.accountId];
      if (!audiences.includes(resource)) policy.audiences = [...audiences, resource];
    }
  }
}
