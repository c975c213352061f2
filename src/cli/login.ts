/**
 * databricks-governed-mcp login: signs the local developer in to the workspace (Authorization Code + PKCE as a
 * public client, loopback callback) and saves the tokens for the stdio server (mode u2m).
 */
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { WorkspaceHttpClient } from "../databricks/http-client.js";
import { createWorkspaceApi } from "../databricks/workspace-api.js";
import { ErrorCodes, IdentityError } from "../errors.js";
import { withProfileHost } from "../identity/databricks-profile.js";
import { loginWithBrowser } from "../identity/u2m/browser-login.js";
import { LoginCache, defaultLoginCacheFile } from "../identity/u2m/login-cache.js";
import { scopesFor } from "../policy/scopes.js";
import { catalogToolsFromFile } from "../../tools/catalog/load.js";

type Env = Record<string, string | undefined>;

/** What asking the workspace who signed in (SCIM `Me`) needs, whatever the catalog's tools need. */
const WHO_SIGNED_IN = { scopes: ["iam.current-user:read"] };

/** Identity settings only: commands that call no warehouse or Genie space need not name them. */
export function loadIdentityConfig(env: Env, base: Record<string, unknown> = {}): Config {
  const workspace = { warehouseId: "(not used)", genieSpaceId: "(not used)" };
  return loadConfig(env, { ...base, workspace: { ...workspace, ...(base.workspace as object | undefined) } });
}

export interface LoginOptions {
  env?: Env;
  /** Shows the authorization URL; the default prints it for the person to open. */
  openUrl?(url: string): Promise<void> | void;
  /** Where progress lines go; the default is stderr (stdout stays clean for scripts). */
  print?(line: string): void;
}

/** Signs in, asks the workspace who that is (SCIM Me), and saves the login; returns the user name. */
export async function runLogin(options: LoginOptions = {}): Promise<{ user?: string; cacheFile: string }> {
  const env = withProfileHost(options.env ?? process.env);
  const print = options.print ?? ((line: string) => console.error(line));
  const host = env.DATABRICKS_HOST?.replace(/\/+$/, "");
  if (!host)
    throw new IdentityError(
      ErrorCodes.UNAUTHENTICATED,
      "Set DATABRICKS_HOST (or DATABRICKS_CONFIG_PROFILE) to the workspace to sign in to.",
    );
  const config = loadIdentityConfig(env);
  const { loginClientId, loginCacheFile } = config.identity.local;
  // Least privilege: the scopes the configured catalog's tools need, iam.current-user:read for asking who signed in
  // (below; no tool may need it), and offline_access for a refresh token.
  const scopes = [...scopesFor([...catalogToolsFromFile(config), WHO_SIGNED_IN]), "offline_access"];
  const tokens = await loginWithBrowser({
    host,
    clientId: loginClientId,
    scopes,
    openUrl:
      options.openUrl ??
      ((url) => print(`Open this URL in your browser to sign in to ${host}:\n\n  ${url}\n\nWaiting for the browser…`)),
  });

  const http = new WorkspaceHttpClient(host);
  let user: string | undefined;
  try {
    const api = createWorkspaceApi(
      http,
      { token: async () => tokens },
      { requestId: "login", queryTags: { tool: "login" } },
    );
    const me = await api.currentUser();
    user = typeof me.userName === "string" ? me.userName : undefined;
  } finally {
    await http.close();
  }
  const cache = new LoginCache(loginCacheFile ?? defaultLoginCacheFile());
  await cache.put(host, {
    clientId: loginClientId,
    accessToken: tokens.accessToken,
    ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
    expiresAt: tokens.expiresAt,
    scopes: tokens.scopes,
    ...(user ? { user } : {}),
  });
  print(`Signed in to ${host}${user ? ` as ${user}` : ""}. Tokens saved to ${cache.file} (owner-only).`);
  return { ...(user ? { user } : {}), cacheFile: cache.file };
}
