import { createHash } from "node:crypto";
import type { JWTPayload } from "jose";
import type { Config } from "../../config/schema.js";
import type { IdpOboConfig } from "../../config/idp-obo-schema.js";
import { ErrorCodes, IdentityError } from "../../errors.js";
import { bearerOf } from "../bearer.js";
import { cachedCredential } from "../cached-credential.js";
import { onBehalfOfGrant } from "../idp-on-behalf-of.js";
import { claimAt, issuerVerifier, verifierLimits } from "../jwt-verifier.js";
import { claimByIssuer } from "../issuer-claim.js";
import { TokenCache, cacheKey } from "../token-cache.js";
import type { CredentialStrategy, InboundRequest, ResolvedCaller } from "../types.js";

export type IdpOboStrategy = CredentialStrategy & {
  /** True when the bearer names the configured IdP as its issuer (unverified: only to pick this strategy). */
  claims(token: string): boolean;
};

/** The workspace user a verified token names: the first of the configured claims that holds a non-empty string. */
function userOf(payload: JWTPayload, idp: IdpOboConfig): string {
  for (const claim of idp.userClaims) {
    const value = claimAt(payload, claim);
    if (typeof value === "string" && value.trim() !== "") return value;
  }
  throw new IdentityError(
    ErrorCodes.TOKEN_INVALID,
    `The token names no user in ${idp.userClaims.join(", ")}; the workspace could not tell who acts.`,
  );
}

const digestOf = (token: string) => createHash("sha256").update(token).digest("base64url");

/**
 * IdP on-behalf-of: verify the user's IdP token (issued to this server), then — lazily — exchange it at the IdP for a
 * token of the same user whose audience is the workspace (Entra ID's jwt-bearer on-behalf-of grant). The workspace
 * sees the user; the exchanged token is cached by the user's token, never shared with another token or user.
 */
export function createIdpOboStrategy(
  config: Config,
  idp: IdpOboConfig,
  cache: TokenCache,
  options: { now?: () => number } = {},
): IdpOboStrategy {
  const verify = issuerVerifier(idp, verifierLimits(config, options.now));
  const { claims, accepts } = claimByIssuer((issuer) => issuer === idp.issuer);
  return {
    mode: "idp-obo",
    claims,
    accepts,
    async resolve(request: InboundRequest): Promise<ResolvedCaller> {
      const token = bearerOf(request.headers);
      if (!token || !claims(token))
        throw new IdentityError(
          ErrorCodes.UNAUTHENTICATED,
          "A bearer token from the configured identity provider is required.",
        );
      const { payload } = await verify(token);
      const user = userOf(payload, idp);
      const key = cacheKey("idp-obo", user, [idp.scope], JSON.stringify([idp.issuer, digestOf(token)]));
      return {
        identity: {
          mode: "idp-obo",
          source: "on-behalf-of",
          human: user,
          issuer: idp.issuer,
          expectedPrincipal: user,
          scopes: ["all-apis"],
          inboundExpiresAt: payload.exp,
        },
        credential: cachedCredential(cache, key, () => onBehalfOfGrant(idp, token)),
      };
    },
  };
}
