import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { ErrorCodes, IdentityError } from "../errors.js";
import type { ScopedTool } from "../policy/scopes.js";
import { scopesToRequest } from "../policy/tool-access.js";
import { bearerOf } from "./bearer.js";
import { peekIssuer } from "./jwt-verifier.js";
import { chooseLocalStrategy } from "./local-identity.js";
import { createFederationStrategy } from "./strategies/federation.js";
import { createIdpOboStrategy } from "./strategies/idp-obo.js";
import type { BrokeredStrategy } from "./strategies/brokered.js";
import { createM2MStrategy } from "./strategies/m2m.js";
import { createOboStrategy } from "./strategies/obo.js";
import { TokenCache } from "./token-cache.js";
import type { CredentialStrategy, InboundRequest, ResolvedCaller } from "./types.js";

export interface CredentialResolver {
  resolve(request: InboundRequest): Promise<ResolvedCaller>;
  cache: TokenCache;
}

/**
 * A request must carry one credential. Repeated headers reach here joined by ", " (RFC 9110 §5.3), a character no
 * bearer token holds. A bearer beside the proxy header is accepted only when both are the same token: the server
 * cannot tell which one the caller meant without verifying both, and picking either would let one mask the other.
 */
function refuseAmbiguousCredentials(headers: InboundRequest["headers"]): void {
  const { authorization } = headers;
  const proxied = headers["x-forwarded-access-token"];
  if (authorization?.includes(",") || proxied?.includes(","))
    throw new IdentityError(
      ErrorCodes.CREDENTIALS_CONFLICT,
      "The request carries more than one Authorization (or x-forwarded-access-token) value; send exactly one.",
    );
  if (authorization?.trim() && proxied !== undefined && bearerOf(headers) !== proxied)
    throw new IdentityError(
      ErrorCodes.CREDENTIALS_CONFLICT,
      "The request carries both a bearer token and x-forwarded-access-token naming another token; send one.",
    );
}

/**
 * Picks one strategy per request from what the request carries, and never falls back to another identity when the
 * chosen one fails: a refused Federation token is a refusal, not a reason to try M2M. Tokens obtained for a caller
 * (exchange, client credentials) ask only for the scopes of the tools that caller may call.
 */
export function createCredentialResolver(
  config: Config,
  options: {
    tools: readonly ScopedTool[];
    logger: Logger;
    /** Milliseconds since the epoch, for inbound token checks; the system clock unless a test gives another. */
    now?: () => number;
    /** Bearers this server issued itself, when it brokers users' workspace sign-in. */
    brokered?: BrokeredStrategy;
    /** This server's own resource identifiers, accepted as a Federation token's audience (resource-audience.ts). */
    ownAudiences?: () => readonly string[];
  },
): CredentialResolver {
  const cache = new TokenCache(config.identity.tokenCache.maxEntries, config.identity.tokenCache.refreshMarginS);
  const federation = createFederationStrategy(
    config,
    (subject) => scopesToRequest(subject, config, options.tools),
    cache,
    { now: options.now, ownAudiences: options.ownAudiences },
  );
  const obo = createOboStrategy(config, { now: options.now });
  const idpObo = config.identity.idpObo
    ? createIdpOboStrategy(config, config.identity.idpObo, cache, { now: options.now })
    : undefined;
  const m2mScopes = scopesToRequest({ mode: "m2m" }, config, options.tools);
  const m2m = createM2MStrategy(config, m2mScopes, cache);
  let local: CredentialStrategy | undefined;

  function strategyForHttp(request: InboundRequest): CredentialStrategy {
    refuseAmbiguousCredentials(request.headers);
    if (request.headers["x-forwarded-access-token"] !== undefined) return obo;
    const authorization = request.headers.authorization;
    if (authorization) {
      const token = bearerOf(request.headers);
      if (!token) throw new IdentityError(ErrorCodes.TOKEN_INVALID, "The Authorization header must be a Bearer token.");
      if (federation.claims(token)) return federation;
      if (idpObo?.claims(token)) return idpObo;
      if (options.brokered?.claims(token)) return options.brokered;
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
      local ??= chooseLocalStrategy(config, m2mScopes, cache);
      return local.resolve(request);
    },
  };
}
