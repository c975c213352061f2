import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { ErrorCodes, IdentityError } from "../errors.js";
import { peekIssuer } from "./jwt-verifier.js";
import { createFederationStrategy, createM2MStrategy, createOboStrategy, createPatStrategy } from "./strategies.js";
import { TokenCache } from "./token-cache.js";
import type { InboundRequest, ResolvedCaller } from "./types.js";

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

  async function resolveHttp(request: InboundRequest): Promise<ResolvedCaller> {
    if (request.headers["x-forwarded-access-token"] !== undefined) return obo.resolve(request);
    const authorization = request.headers.authorization;
    if (authorization) {
      const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
      if (!token) throw new IdentityError(ErrorCodes.TOKEN_INVALID, "The Authorization header must be a Bearer token.");
      const issuer = peekIssuer(token);
      if (issuer && federation.issuers.includes(issuer))
        return (federation.resolve as (r: InboundRequest, s: undefined, i: string) => Promise<ResolvedCaller>)(
          request,
          undefined,
          issuer,
        );
      if (issuer === obo.issuer && config.identity.obo.acceptWorkspaceBearer) return obo.resolve(request);
      throw new IdentityError(ErrorCodes.TOKEN_INVALID, "The bearer token is not from a trusted issuer.");
    }
    if (config.identity.m2m.allowHttpCallers) return m2m.resolve(request);
    throw new IdentityError(ErrorCodes.UNAUTHENTICATED, "Authentication required: send a bearer token.");
  }

  async function resolveStdio(request: InboundRequest): Promise<ResolvedCaller> {
    if (config.identity.local.token) return createPatStrategy(config.identity.local.token).resolve(request);
    if (m2m.accepts(request)) return m2m.resolve(request);
    throw new IdentityError(
      ErrorCodes.UNAUTHENTICATED,
      "No local identity: set DATABRICKS_TOKEN or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET.",
    );
  }

  return {
    cache,
    resolve: (request) => (request.transport === "stdio" ? resolveStdio(request) : resolveHttp(request)),
  };
}
