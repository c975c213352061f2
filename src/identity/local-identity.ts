import type { Config } from "../config/schema.js";
import { ErrorCodes, IdentityError } from "../errors.js";
import { readDatabricksProfile } from "./databricks-profile.js";
import { createClientCredentialsStrategy } from "./strategies/m2m.js";
import { createPatStrategy } from "./strategies/pat.js";
import { createProfileStrategy } from "./strategies/profile.js";
import { createU2MStrategy } from "./strategies/u2m.js";
import type { TokenCache } from "./token-cache.js";
import type { CredentialStrategy } from "./types.js";
import { LoginCache } from "./u2m/login-cache.js";

/**
 * The one local user of a stdio server (Databricks unified auth). DATABRICKS_AUTH_TYPE pins the method; unset, the
 * first that is configured wins: DATABRICKS_TOKEN, DATABRICKS_CONFIG_PROFILE, a saved `login` for this host, then
 * DATABRICKS_CLIENT_ID/SECRET. A chosen method that fails is an error, never a reason to try the next.
 */
export function chooseLocalStrategy(config: Config, scopes: readonly string[], cache: TokenCache): CredentialStrategy {
  const { local, m2m, tokenCache } = config.identity;
  const host = config.workspace.host!;
  const loginCache = new LoginCache(local.loginCacheFile);
  const u2m = () => createU2MStrategy({ host, loginCache, cache, refreshMarginS: tokenCache.refreshMarginS });
  const clientCredentials = () =>
    createClientCredentialsStrategy({ host, clientId: m2m.clientId, clientSecret: m2m.clientSecret, scopes, cache });

  switch (local.authType) {
    case "pat":
      if (!local.token)
        throw new IdentityError(ErrorCodes.UNAUTHENTICATED, "DATABRICKS_AUTH_TYPE=pat needs DATABRICKS_TOKEN.");
      return createPatStrategy(local.token);
    case "oauth-m2m":
      return clientCredentials();
    case "external-browser":
      return u2m();
  }
  if (local.token) return createPatStrategy(local.token);
  if (local.profile)
    return createProfileStrategy({
      profile: readDatabricksProfile(local.profile, local.configFile),
      host,
      scopes,
      cache,
      loginCache,
      refreshMarginS: tokenCache.refreshMarginS,
    });
  if (loginCache.get(host)) return u2m();
  if (m2m.clientId && m2m.clientSecret) return clientCredentials();
  throw new IdentityError(
    ErrorCodes.UNAUTHENTICATED,
    "No local identity: set DATABRICKS_TOKEN, DATABRICKS_CONFIG_PROFILE, DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET, or run `databricks-governed-mcp login`.",
  );
}
