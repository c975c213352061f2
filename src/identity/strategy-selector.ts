import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { ErrorCodes, IdentityError } from "../errors.js";
import { peekIssuer } from "./jwt-verifier.js";
import { chooseLocalStrategy } from "./local-identity.js";
import { createFederationStrategy } from "./strategies/federation.js";
import { createM2MStrategy } from "./strategies/m2m.js";
import { createOboStrategy } from "./strategies/obo.js";
import { TokenCache } from "./token-cache.js";
import type { CredentialStrategy, InboundRequest, ResolvedCaller } from "./types.js";

export interface CredentialResolver {
  resolve(request: InboundRequest): Promise<ResolvedCaller>;
  cache: TokenCache;
}

/**
 * Picks one strategy per request from what the request carries, and never falls back to another identity when the
 * chosen one fails: a refused Federation token is a refusal, not a reason to try M2M.
 */
export function createCredentialResolver(
  config: Config,
  options: { scopes: readonly string[]; logger: Logger },
): CredentialResolver {
  const cache = new TokenCache(config.identity.tokenCache.maxEntries, config.identity.tokenCache.refreshMarginS);
  const federation = createFederationStrategy(config, options.scopes, cache);
  const obo = createOboStrategy(config);
  const m2m = createM2MStrategy(config, options.scopes, cache);
  let local: CredentialStrategy | undefined;

  function strategyForHttp(request: InboundRequest): CredentialStrategy {
    if (request.headers["x-forwarded-access-token"] !== undefined) return obo;
    const authorization = request.headers.authorization;
    if (authorization) {
      const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
      if (!token) throw new IdentityError(ErrorCodes.TOKEN_INVALID, "The Authorization header must be a Bearer token.");
      if (federation.claims(token)) return federation;
      if (peekIssuer(token) === obo.issuer && config.identity.obo.acceptWorkspaceBearer) return obo;
      throw new IdentityError(ErrorCodes.TOKEN_INVALID, "The bearer token is not from a trusted issuer.");
    }
    if (config.identity.m2m.allowHttpCallers) return m2m;
    throw new IdentityError(ErrorCodes.UNAUTHENTICATED, "Authentication required: send a bearer token.");
  }

  return {
    cache,
    resolve: async (request) => {
      if (request.transport === "http") return strategyForHttp(request).resolve(request);
      local ??= chooseLocalStrategy(config, options.scopes, cache);
      return local.resolve(request);
    },
  };
}
