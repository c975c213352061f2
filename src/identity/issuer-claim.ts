import { bearerOf } from "./bearer.js";
import { peekIssuer } from "./jwt-verifier.js";
import type { InboundRequest } from "./types.js";

/**
 * How a bearer strategy picks its tokens by their issuer, read unverified (only to choose the strategy that then
 * verifies): `claims` a token, `accepts` a request whose bearer it claims.
 */
export function claimByIssuer(isOurs: (issuer: string) => boolean) {
  const claims = (token: string) => {
    const issuer = peekIssuer(token);
    return issuer !== undefined && isOurs(issuer);
  };
  const accepts = (request: InboundRequest) => {
    const token = bearerOf(request.headers);
    return token !== undefined && claims(token);
  };
  return { claims, accepts };
}
