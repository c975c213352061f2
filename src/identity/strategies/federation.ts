import { createHash } from "node:crypto";
import type { JWTPayload } from "jose";
import type { Config, FederationIssuerConfig } from "../../config/schema.js";
import { ErrorCodes, IdentityError } from "../../errors.js";
import { bearerOf } from "../bearer.js";
import { cachedCredential } from "../cached-credential.js";
import { idpClientCredentials } from "../idp-oauth.js";
import { claimAt, issuerVerifier, peekIssuer, verifierLimits } from "../jwt-verifier.js";
import { claimByIssuer } from "../issuer-claim.js";
import { TokenCache, cacheKey } from "../token-cache.js";
import type { AccessToken, CallerIdentity, CredentialStrategy, InboundRequest, ResolvedCaller } from "../types.js";
import { exchangeTokenForUser } from "../user-exchange.js";
import { exchangeToken } from "../workspace-oauth.js";
import { createWorkspaceUsers } from "../workspace-users.js";
import type { Clock } from "../../clock.js";

export type FederationStrategy = CredentialStrategy & {
  /** True when the bearer names one of the configured issuers (unverified: only to pick this strategy). */
  claims(token: string): boolean;
};

interface IssuerEntry {
  issuer: FederationIssuerConfig;
  verify: ReturnType<typeof issuerVerifier>;
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

/** The tools' scopes for a caller of this mode and role (see scopesToRequest). */
export type ScopesOf = (subject: Pick<CallerIdentity, "mode" | "role">) => readonly string[];

/** The workspace user a verified token names in the issuer's user claim, when it names one. */
function userOf(payload: JWTPayload, issuer: FederationIssuerConfig): string | undefined {
  const user = claimAt(payload, issuer.userClaim);
  return typeof user === "string" && user.trim() !== "" ? user : undefined;
}

/**
 * Federation: verify the external IdP's JWT, then exchange (RFC 8693) lazily for the target the issuer is configured
 * with: the user the token names (account federation policy), or the role's service principal, or — with the rule
 * `user-if-known` — the user when the workspace knows them and the role otherwise. A user exchange that fails is a
 * refusal, never a role exchange instead (that would be another identity). Each token asks only for the scopes of
 * the tools its caller may call (`scopesOf`). The subject token is the caller's own
 * JWT, or a per-role IdP client-credentials token (issuer's `subjectTokenSource`). An exchanged token inherits the
 * subject token's expiry and is cached by it; near expiry it is re-exchanged with a fresh subject token. A failed
 * exchange is an error, never the inbound token passed on.
 */
export function createFederationStrategy(
  config: Config,
  scopesOf: ScopesOf,
  cache: TokenCache,
  options: { now?: () => number; clock?: Clock; ownAudiences?: () => readonly string[] } = {},
): FederationStrategy {
  const { federation } = config.identity;
  const host = config.workspace.host!;
  const workspaceUsers = createWorkspaceUsers(config, cache, options.clock);
  const verifiers = new Map<string, IssuerEntry>();
  for (const issuer of federation.issuers)
    verifiers.set(issuer.issuer, {
      issuer,
      verify: issuerVerifier(issuer, {
        ...verifierLimits(config, options.now),
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

  function exchangeForUser(issuer: FederationIssuerConfig, token: string, user: string, scopes: readonly string[]) {
    // Bound to the subject token as for roles: another token naming the same user never reuses this exchange.
    const key = cacheKey("federation-user", user, scopes, JSON.stringify(["caller", issuer.issuer, digestOf(token)]));
    return cachedCredential(cache, key, () => exchangeTokenForUser(host, token, scopes));
  }

  /** The user this call is exchanged for, or undefined for the role; refused when the issuer wants a user and none is named. */
  async function userTarget(issuer: FederationIssuerConfig, payload: JWTPayload): Promise<string | undefined> {
    if (issuer.exchangeFor === "role") return undefined;
    const user = userOf(payload, issuer);
    if (issuer.exchangeFor === "user") {
      if (!user)
        throw new IdentityError(
          ErrorCodes.TOKEN_INVALID,
          `The token carries no '${issuer.userClaim}' claim naming a workspace user; this issuer exchanges for users.`,
        );
      return user;
    }
    return user !== undefined && (await workspaceUsers.knows(user)) ? user : undefined;
  }

  function roleResolution(entry: IssuerEntry, token: string, payload: JWTPayload): ResolvedCaller {
    const { role, sp } = servicePrincipalOf(payload, entry.issuer, federation.roleToServicePrincipal);
    const scopes = scopesOf({ mode: "federation", role });
    const credential =
      entry.issuer.subjectTokenSource === "idp-client-credentials"
        ? exchangeOfIdpClient(entry.issuer, role, sp, scopes)
        : exchangeOfCaller(entry.issuer, token, sp, scopes);
    return {
      identity: {
        mode: "federation",
        source: entry.issuer.exchangeFor === "role" ? "exchange" : "exchange-by-rule",
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
  }

  function userResolution(entry: IssuerEntry, token: string, payload: JWTPayload, user: string): ResolvedCaller {
    const claimedRole = claimAt(payload, entry.issuer.roleClaim);
    const role = typeof claimedRole === "string" && claimedRole !== "" ? claimedRole : undefined;
    const scopes = scopesOf({ mode: "federation-user", role });
    return {
      identity: {
        mode: "federation-user",
        source: entry.issuer.exchangeFor === "user" ? "exchange" : "exchange-by-rule",
        human: user,
        // Only an email the IdP has not marked unverified may be bound into a tool's parameters.
        email: typeof payload.email === "string" && payload.email_verified !== false ? payload.email : undefined,
        issuer: entry.issuer.issuer,
        ...(role === undefined ? {} : { role }),
        expectedPrincipal: user,
        scopes: [...scopes],
        inboundExpiresAt: payload.exp,
      },
      credential: exchangeForUser(entry.issuer, token, user, scopes),
    };
  }

  return {
    mode: "federation",
    ...claimByIssuer((issuer) => verifiers.has(issuer)),
    async resolve(request: InboundRequest): Promise<ResolvedCaller> {
      const token = bearerOf(request.headers);
      const entry = token ? verifiers.get(peekIssuer(token) ?? "") : undefined;
      if (!token || !entry)
        throw new IdentityError(
          ErrorCodes.UNAUTHENTICATED,
          "A bearer token from a configured identity provider is required.",
        );
      const { payload } = await entry.verify(token);
      const user = await userTarget(entry.issuer, payload);
      return user === undefined ? roleResolution(entry, token, payload) : userResolution(entry, token, payload, user);
    },
  };
}
