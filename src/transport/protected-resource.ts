import type { Config } from "../config/schema.js";

/** The two names of this server as an OAuth protected resource (RFC 9728 §3, RFC 8707): its origin and its endpoint. */
export interface ResourceIdentifiers {
  /** The origin (public URL without a trailing slash), described by `/.well-known/oauth-protected-resource`. */
  root: string;
  /** The MCP endpoint, described by `/.well-known/oauth-protected-resource{path}`: the canonical URI clients use. */
  endpoint: string;
}

/** This server's resource identifiers: from MCP_PUBLIC_URL when set, else from the address it listens on. */
export function resourceIdentifiers(server: Config["server"], listeningUrl: string): ResourceIdentifiers {
  const root = (server.publicUrl ?? listeningUrl).replace(/\/+$/, "");
  return { root, endpoint: `${root}${server.path}` };
}

/** Who issues the tokens this server accepts, and the scopes a client asks them for (RFC 9728 metadata). */
export interface AuthorizationServers {
  authorizationServers: string[];
  /** Each one offered by the authorization server a client asks for it. */
  scopesSupported: string[];
}

/**
 * The server itself when it brokers sign-in, the Federation IdPs (with the scopes a client asks each at sign-in),
 * then the workspace's OAuth server (with the workspace scopes the tools need) when workspace-issued bearer tokens are
 * accepted; an issuer whose tokens this server refuses is never named.
 */
export function authorizationServersOf(config: Config, toolScopes: readonly string[]): AuthorizationServers {
  const servers: string[] = [];
  const scopes = new Set<string>();
  // Brokering sign-in, the server is its clients' first authorization server (docs/brokered-sign-in.md).
  if (config.identity.broker && config.server.publicUrl) servers.push(config.server.publicUrl.replace(/\/+$/, ""));
  for (const issuer of config.identity.federation.issuers) {
    servers.push(issuer.issuer);
    for (const scope of issuer.clientScopes) scopes.add(scope);
  }
  if (config.identity.obo.acceptWorkspaceBearer && config.workspace.host !== undefined) {
    servers.push(`${config.workspace.host.replace(/\/+$/, "")}/oidc`);
    for (const scope of toolScopes) scopes.add(scope);
  }
  return { authorizationServers: servers, scopesSupported: [...scopes] };
}

/** The RFC 9728 document served at the root (naming the origin) or at the endpoint's path (naming the endpoint). */
export function protectedResourceMetadata(resource: string, servers: AuthorizationServers): Record<string, unknown> {
  return {
    resource,
    authorization_servers: servers.authorizationServers,
    scopes_supported: servers.scopesSupported,
    bearer_methods_supported: ["header"],
    resource_name: "databricks-governed-mcp",
  };
}
