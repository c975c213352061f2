import type { WorkspaceContext } from "./context.js";
import { sendJson, type Router } from "./http/router.js";

/**
 * The audiences the workspace accepts by default in a federated subject token: its own token endpoint URL, which the
 * SDKs request from their IdP when no audience is configured. Advertised in `/.well-known/databricks-config`.
 */
export function defaultFederationAudiences(ctx: WorkspaceContext): string[] {
  return [`${ctx.baseUrl}/oidc/v1/token`];
}

/**
 * `GET /.well-known/databricks-config`, unauthenticated: the host metadata the SDKs read before anything else to find
 * the OIDC root, the account and workspace ids, the cloud and the default token-federation audience.
 */
export function registerDiscoveryRoutes(router: Router, ctx: WorkspaceContext): void {
  router.add("GET", "/.well-known/databricks-config", ({ res }) =>
    sendJson(res, 200, {
      oidc_endpoint: `${ctx.baseUrl}/oidc`,
      account_id: ctx.seed.workspace.accountId,
      workspace_id: ctx.seed.workspace.workspaceId,
      cloud: "AWS",
      token_federation_default_oidc_audiences: defaultFederationAudiences(ctx),
    }),
  );
}
