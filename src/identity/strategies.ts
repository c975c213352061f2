import type { Config, FederationIssuerConfig } from "../config/schema.js";
import { ErrorCodes, IdentityError } from "../errors.js";
import { claimAt, createJwtVerifier, federationVerifier } from "./jwt-verifier.js";
import { TokenCache, cacheKey } from "./token-cache.js";
import { clientCredentials, exchangeToken } from "./workspace-oauth.js";
import type { AccessToken, CredentialStrategy, InboundRequest, ResolvedCaller, WorkspaceCredential } from "./types.js";

/** A credential whose token comes from the cache, fetched (once) on a miss; a 401 evicts and fetches again. */
function cachedCredential(cache: TokenCache, key: string, fetch: () => Promise<AccessToken>): WorkspaceCredential {
  return {
    token: async (options) => {
      if (options?.forceRefresh) cache.evict(key);
      return cache.get(key, fetch);
    },
  };
}

function bearerOf(request: InboundRequest): string | undefined {
  const m = request.headers.authorization ? /^Bearer\s+(\S+)$/i.exec(request.headers.authorization) : null;
  return m?.[1];
}

/** M2M: the server's own service principal by client credentials. */
export function createM2MStrategy(
  config: Config,
  scopes: readonly string[],
  cache = new TokenCache(16, config.identity.tokenCache.refreshMarginS),
): CredentialStrategy {
  const { clientId, clientSecret } = config.identity.m2m;
  const host = config.workspace.host!;
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
        identity: { mode: "m2m", source: "client-credentials", expectedPrincipal: clientId, scopes: [...scopes] },
        credential: cachedCredential(cache, key, () => clientCredentials(host, clientId, clientSecret, scopes)),
      };
    },
  };
}

/** Federation: verify the external IdP's JWT, map its role to a service principal, exchange (RFC 8693) lazily. */
export function createFederationStrategy(
  config: Config,
  scopes: readonly string[],
  cache: TokenCache,
): CredentialStrategy & { issuers: string[] } {
  const { federation } = config.identity;
  const verifiers = new Map<
    string,
    { issuer: FederationIssuerConfig; verify: ReturnType<typeof federationVerifier> }
  >();
  for (const issuer of federation.issuers)
    verifiers.set(issuer.issuer, {
      issuer,
      verify: federationVerifier(issuer, federation.clockToleranceS, federation.maxTokenBytes),
    });
  const host = config.workspace.host!;
  return {
    mode: "federation",
    issuers: [...verifiers.keys()],
    accepts: () => federation.issuers.length > 0,
    async resolve(request, _signal, issuerName?: string): Promise<ResolvedCaller> {
      const token = bearerOf(request);
      const entry = issuerName ? verifiers.get(issuerName) : undefined;
      if (!token || !entry)
        throw new IdentityError(
          ErrorCodes.UNAUTHENTICATED,
          "A bearer token from a configured identity provider is required.",
        );
      const { payload } = await entry.verify(token);
      const role = claimAt(payload, entry.issuer.roleClaim);
      if (typeof role !== "string" || role === "")
        throw new IdentityError(
          ErrorCodes.ROLE_UNMAPPED,
          `The token carries no role claim '${entry.issuer.roleClaim}' of type string.`,
        );
      const sp = federation.roleToServicePrincipal[role];
      if (!sp)
        throw new IdentityError(
          ErrorCodes.ROLE_UNMAPPED,
          `The role '${role.slice(0, 64)}' is not mapped to a service principal.`,
        );
      const human = typeof payload.email === "string" ? payload.email : String(payload.sub);
      // The exchanged token inherits the subject token's expiry, so each subject token (its jti or the token's
      // expiry and subject) keys its own entry: a fresh inbound token gets a fresh exchange, never a stale one.
      const key = cacheKey("federation", sp, scopes, `${payload.sub}|${payload.exp}`);
      return {
        identity: {
          mode: "federation",
          source: "exchange",
          human,
          role,
          expectedPrincipal: sp,
          scopes: [...scopes],
          inboundExpiresAt: payload.exp,
        },
        credential: cachedCredential(cache, key, () => exchangeToken(host, token, sp, scopes)),
      };
    },
  } as CredentialStrategy & { issuers: string[] };
}

/** OBO: the human's own workspace token — from the Databricks Apps proxy header when trusted, or a workspace bearer. */
export function createOboStrategy(config: Config): CredentialStrategy & { issuer: string } {
  const host = config.workspace.host!;
  const verify = createJwtVerifier({
    issuer: `${host}/oidc`,
    jwksUri: `${host}/oidc/v1/keys`,
    algorithms: ["RS256"],
    clockToleranceS: config.identity.federation.clockToleranceS,
    maxTokenBytes: config.identity.federation.maxTokenBytes,
  });
  return {
    mode: "obo",
    issuer: `${host}/oidc`,
    accepts: (request) => Boolean(request.headers["x-forwarded-access-token"] || bearerOf(request)),
    async resolve(request): Promise<ResolvedCaller> {
      const proxied = request.headers["x-forwarded-access-token"];
      if (proxied !== undefined && !config.identity.obo.trustProxyHeader) {
        throw new IdentityError(
          ErrorCodes.PROXY_HEADER_UNTRUSTED,
          "x-forwarded-access-token is only accepted behind the Databricks Apps proxy.",
        );
      }
      const token = proxied ?? bearerOf(request);
      if (!token) throw new IdentityError(ErrorCodes.UNAUTHENTICATED, "No user token on the request.");
      const { payload } = await verify(token);
      const human = typeof payload.email === "string" ? payload.email : String(payload.sub);
      const scopes = typeof payload.scope === "string" ? payload.scope.split(" ") : [];
      const accessToken: AccessToken = { accessToken: token, expiresAt: payload.exp!, scopes };
      return {
        identity: {
          mode: "obo",
          source: proxied ? "proxy-header" : "bearer",
          human,
          expectedPrincipal: human,
          scopes,
          inboundExpiresAt: payload.exp,
        },
        credential: {
          token: async (options) => {
            // The user's own token cannot be refreshed here: a 401 means the caller must sign in again.
            if (options?.forceRefresh || accessToken.expiresAt <= Date.now() / 1000)
              throw new IdentityError(ErrorCodes.TOKEN_EXPIRED, "The user's token has expired; sign in again.");
            return accessToken;
          },
        },
      };
    },
  } as CredentialStrategy & { issuer: string };
}

/** PAT (stdio only): DATABRICKS_TOKEN as the local developer. */
export function createPatStrategy(token: string): CredentialStrategy {
  return {
    mode: "pat",
    accepts: () => true,
    async resolve(): Promise<ResolvedCaller> {
      const accessToken: AccessToken = {
        accessToken: token,
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
        scopes: ["all-apis"],
      };
      return {
        identity: { mode: "pat", source: "env-token", scopes: ["all-apis"] },
        credential: { token: async () => accessToken },
      };
    },
  };
}
