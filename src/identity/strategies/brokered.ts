import { ErrorCodes, IdentityError } from "../../errors.js";
import { bearerOf } from "../bearer.js";
import type { BrokerTokens } from "../broker/broker-tokens.js";
import type { UserGrants } from "../broker/user-grants.js";
import { claimByIssuer } from "../issuer-claim.js";
import type { CredentialStrategy, InboundRequest, ResolvedCaller } from "../types.js";

export type BrokeredStrategy = CredentialStrategy & {
  /** True when the bearer names this server as its issuer (unverified: only to pick this strategy). */
  claims(token: string): boolean;
};

/**
 * Brokered sign-in: the bearer is the server's own token; the workspace token is the user's, kept sealed since they
 * signed in, refreshed when near expiry. A revoked sign-in (by the user, or by the workspace refusing the refresh
 * token) refuses the call; the grant named by this token is the only one it can reach.
 */
export function createBrokeredStrategy(tokens: BrokerTokens, userGrants: UserGrants): BrokeredStrategy {
  const { claims, accepts } = claimByIssuer((issuer) => issuer === tokens.issuer);
  return {
    mode: "brokered",
    claims,
    accepts,
    async resolve(request: InboundRequest): Promise<ResolvedCaller> {
      const token = bearerOf(request.headers);
      if (!token) throw new IdentityError(ErrorCodes.UNAUTHENTICATED, "Authentication required: send a bearer token.");
      const verified = await tokens.verify(token);
      const grant = await userGrants.get(verified.grantId);
      // The grant must still exist and be the same user's: a token can never reach another user's grant.
      if (!grant || grant.user !== verified.user)
        throw new IdentityError(ErrorCodes.TOKEN_EXPIRED, "This sign-in was revoked; sign in again.");
      return {
        identity: {
          mode: "brokered",
          source: "broker-store",
          human: grant.user,
          expectedPrincipal: grant.user,
          scopes: grant.scopes.filter((scope) => scope !== "offline_access"),
          inboundExpiresAt: verified.exp,
        },
        credential: { token: (options) => userGrants.token(verified.grantId, options) },
      };
    },
  };
}
