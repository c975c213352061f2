import { createHash } from "node:crypto";
import type { JWTPayload } from "jose";
import type { Config, FederationIssuerConfig } from "../../config/schema.js";
import { ErrorCodes, IdentityError } from "../../errors.js";
import { bearerOf } from "../bearer.js";
import { cachedCredential } from "../cached-credential.js";
import { idpClientCredentials } from "../idp-oauth.js";
import { claimAt, federationVerifier, peekIssuer } from "../jwt-verifier.js";
import { TokenCache, cacheKey } from "../token-cache.js";
import type { AccessToken, CredentialStrategy, InboundRequest, ResolvedCaller } from "../types.js";
import { exchangeToken } from "../workspace-oauth.js";

export type FederationStrategy = CredentialStrategy & {
  /** True when the bearer names one of the configured issuers (unverified: only to pick this strategy). */
  claims(token: string): boolean;
};

interface IssuerEntry {
  issuer: FederationIssuerConfig;
  verify: ReturnType<typeof federationVerifier>;
}

/** The role claim of a verified token, mapped to its service principal; refused before any exchange otherwise. */
function servicePrincipalOf(
  payload: JWTPayload,
  issuer: FederationIssuerConfig,
  roleToServicePrincipal: Record<string, string>,
) {
  const role = claimAt(payload, issuer.roleClaim);
  if (typeof role !== "string" || role === "")
    throw new IdentityError(
      ErrorCodes.ROLE_UNMAPPED,
      `The token carries no role claim '${issuer.roleClaim}' of type string.`,
    );
  const sp = Object.hasOwn(roleToServicePrincipal, role) ? roleToServicePrincipal[role] : undefined;
  if (!sp)
    throw new IdentityError(
      ErrorCodes.ROLE_UNMAPPED,
      `The role '${role.slice(0, 64)}' is not mapped to a service principal.`,
    );
  return { role, sp };
}

/** A SHA-256 digest of a token: it keys the token's own cache entry without keeping the token a second time. */
const digestOf = (token: string) => createHash("sha256").update(token).digest("base64url");

/**
 * Federation: verify the external IdP's JWT, map its role to a service principal, then exchange (RFC 8693) lazily,
 * asking only for the scopes of the tools that role may call (`scopesOfRole`). The subject token is the caller's own
 * JWT, or a per-role IdP client-credentials token (issuer's `subjectTokenSource`). An exchanged token inherits the
 * subject token's expiry and is cached by it; near expiry it is re-exchanged with a fresh subject token. A failed
 * exchange is an error, never the inbound token passed on.
 */
export function createFederationStrategy(
  config: Config,
  scopesOfRole: (role: string) => readonly string[],
  cache: TokenCache,
  options: { now?: () => number; ownAudiences?: () => readonly string[] } = {},
): FederationStrategy {
  const { federation } = config.identity;
  const host = config.workspace.host!;
  const verifiers = new Map<string, IssuerEntry>();
  for (const issuer of federation.issuers)
    verifiers.set(issuer.issuer, {
      issuer,
      verify: federationVerifier(issuer, {
        clockToleranceS: federation.clockToleranceS,
        maxTokenBytes: federation.maxTokenBytes,
        maxTokenLifetimeS: federation.maxTokenLifetimeS,
        jwks: federation.jwks,
        verifiedCacheEntries: config.identity.tokenCache.maxEntries,
        now: options.now,
        // RFC 8707: a token issued for this server's own resource URL is for this server, whatever the IdP calls it.
        alsoAudiences: options.ownAudiences,
      }),
    });

  function exchangeOfCaller(issuer: FederationIssuerConfig, token: string, sp: string, scopes: readonly string[]) {
    // The exchange depended on the subject token itself (and its issuer), so the key names both: another token, even
    // one with the same sub and exp from another issuer, never reuses this token's exchange.
    const key = cacheKey("federation", sp, scopes, JSON.stringify(["caller", issuer.issuer, digestOf(token)]));
    return cachedCredential(cache, key, () => exchangeToken(host, token, sp, scopes));
  }

  function exchangeOfIdpClient(issuer: FederationIssuerConfig, role: string, sp: string, scopes: readonly string[]) {
    const client = Object.hasOwn(issuer.idpClients, role) ? issuer.idpClients[role] : undefined;
    if (!client)
      throw new IdentityError(
        ErrorCodes.ROLE_UNMAPPED,
        `The role '${role.slice(0, 64)}' has no IdP client configured.`,
      );
    const subjectKey = cacheKey("idp-client-credentials", client.clientId, [], issuer.issuer);
    const subjectToken = (): Promise<AccessToken> =>
      cache.get(subjectKey, () => idpClientCredentials(issuer.issuer, client.clientId, client.clientSecret));
    // The subject token is the server's own, fetched from this issuer with this client: they name the exchange.
    const key = cacheKey("federation", sp, scopes, JSON.stringify(["idp-client", issuer.issuer, client.clientId]));
    // Both entries share one refresh margin and one expiry, so a due re-exchange always gets a fresh subject token.
    return cachedCredential(cache, key, async () =>
      exchangeToken(host, (await subjectToken()).accessToken, sp, scopes),
    );
  }

  return {
    mode: "federation",
    accepts: (request) => {
      const token = bearerOf(request.headers);
      return token !== undefined && verifiers.has(peekIssuer(token) ?? "");
    },
    claims: (token) => verifiers.has(peekIssuer(token) ?? ""),
    async resolve(request: InboundRequest): Promise<ResolvedCaller> {
      const token = bearerOf(request.headers);
      const entry = token ? verifiers.get(peekIssuer(token) ?? "") : undefined;
      if (!token || !entry)
        throw new IdentityError(
          ErrorCodes.UNAUTHENTICATED,
          "A bearer token from a configured identity provider is required.",
        );
      const { payload } = await entry.verify(token);
      const { role, sp } = servicePrincipalOf(payload, entry.issuer, federation.roleToServicePrincipal);
      const scopes = scopesOfRole(role);
      const credential =
        entry.issuer.subjectTokenSource === "idp-client-credentials"
          ? exchangeOfIdpClient(entry.issuer, role, sp, scopes)
          : exchangeOfCaller(entry.issuer, token, sp, scopes);
      return {
        identity: {
          mode: "federation",
          source: "exchange",
          human: String(payload.sub),
          // Only an email the IdP has not marked unverified may be bound into a tool's parameters.
          email: typeof payload.email === "string" && payload.email_verified !== false ? payload.email : undefined,
          issuer: entry.issuer.issuer,
          role,
          expectedPrincipal: sp,
          scopes: [...scopes],
          inboundExpiresAt: payload.exp,
        },
        credential,
      };
    },
  };
}
