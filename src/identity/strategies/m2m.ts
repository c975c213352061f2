import type { Config } from "../../config/schema.js";
import { ErrorCodes, IdentityError } from "../../errors.js";
import { cachedCredential } from "../cached-credential.js";
import { TokenCache, cacheKey } from "../token-cache.js";
import type { CredentialSource, CredentialStrategy, ResolvedCaller } from "../types.js";
import { clientCredentials } from "../workspace-oauth.js";

/** A service principal by OAuth client credentials; the workspace sees its application id. */
export function createClientCredentialsStrategy(options: {
  host: string;
  clientId: string | undefined;
  clientSecret: string | undefined;
  scopes: readonly string[];
  cache: TokenCache;
  source?: CredentialSource;
}): CredentialStrategy {
  const { host, clientId, clientSecret, scopes, cache } = options;
  return {
    mode: "m2m",
    accepts: () => Boolean(clientId && clientSecret),
    async resolve(): Promise<ResolvedCaller> {
      if (!clientId || !clientSecret)
        throw new IdentityError(
          ErrorCodes.UNAUTHENTICATED,
          "No service principal is configured (DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET).",
        );
      const key = cacheKey("m2m", clientId, scopes);
      return {
        identity: {
          mode: "m2m",
          source: options.source ?? "client-credentials",
          expectedPrincipal: clientId,
          scopes: [...scopes],
        },
        credential: cachedCredential(cache, key, () => clientCredentials(host, clientId, clientSecret, scopes)),
      };
    },
  };
}

/** M2M: the server's own service principal (the audit writer, stdio automation, opted-in HTTP callers). */
export function createM2MStrategy(
  config: Config,
  scopes: readonly string[],
  cache = new TokenCache(16, config.identity.tokenCache.refreshMarginS),
): CredentialStrategy {
  return createClientCredentialsStrategy({
    host: config.workspace.host!,
    clientId: config.identity.m2m.clientId,
    clientSecret: config.identity.m2m.clientSecret,
    scopes,
    cache,
  });
}
