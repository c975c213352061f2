import { decodeJwt, errors, jwtVerify, type JWTPayload } from "jose";
import { LRUCache } from "lru-cache";
import { ErrorCodes, IdentityError } from "../errors.js";
import type { Config, FederationIssuerConfig } from "../config/schema.js";
import { discoverJwksUri } from "./idp-oauth.js";
import { createJwksKeySource, type JwksTiming } from "./jwks-key-source.js";

export interface VerifiedJwt {
  payload: JWTPayload;
}

/** How long a verified token is reused without a new signature check, at most (see createJwtVerifier). */
const VERIFIED_REUSE_MS = 30_000;
const VERIFIED_CACHE_ENTRIES = 10_000;

export const DEFAULT_JWKS_TIMING: JwksTiming = { cooldownMs: 30_000, cacheMaxAgeMs: 10 * 60_000 };

/** Issuers already read, per token: picking a strategy peeks at one bearer several times per request. */
const peeked = new LRUCache<string, { issuer: string | undefined }>({ max: 1000 });

/** Reads the issuer of a bearer without trusting it: used only to pick which verifier runs. */
export function peekIssuer(token: string): string | undefined {
  let known = peeked.get(token);
  if (known === undefined) {
    known = { issuer: unverifiedIssuer(token) };
    peeked.set(token, known);
  }
  return known.issuer;
}

function unverifiedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === "string" ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** The value at a dot-separated claim path; undefined when any step is missing. */
export function claimAt(payload: JWTPayload, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>(
      (node, key) => (node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined),
      payload,
    );
}

function verificationError(err: unknown): IdentityError {
  if (err instanceof IdentityError) return err;
  if (err instanceof errors.JWTExpired)
    return new IdentityError(ErrorCodes.TOKEN_EXPIRED, "The bearer token has expired; obtain a new one.");
  if (err instanceof errors.JWTClaimValidationFailed)
    return new IdentityError(
      ErrorCodes.TOKEN_INVALID,
      err.reason === "missing"
        ? `The bearer token has no \`${err.claim}\` claim.`
        : `The bearer token's \`${err.claim}\` claim is not accepted.`,
    );
  const code = (err as { code?: string }).code ?? "ERR_UNKNOWN";
  return new IdentityError(ErrorCodes.TOKEN_INVALID, `The bearer token was refused (${code}).`);
}

/**
 * What jose leaves to the caller: a non-empty string `sub` (jose accepts `""`), an `iat` not in the future, and a
 * lifetime (`exp - iat`, or `exp - now` without `iat`) within the maximum, so a stolen long-lived token is refused.
 */
function checkClaims(payload: JWTPayload, nowS: number, limits: { clockToleranceS: number; maxLifetimeS: number }) {
  if (typeof payload.sub !== "string" || payload.sub.trim() === "")
    throw new IdentityError(ErrorCodes.TOKEN_INVALID, "The bearer token's `sub` claim is empty or not a string.");
  if (payload.iat !== undefined && payload.iat > nowS + limits.clockToleranceS)
    throw new IdentityError(
      ErrorCodes.TOKEN_INVALID,
      "The bearer token's `iat` is in the future; check the identity provider's clock.",
    );
  const lifetimeS = payload.exp! - (payload.iat ?? nowS);
  if (lifetimeS > limits.maxLifetimeS)
    throw new IdentityError(
      ErrorCodes.TOKEN_INVALID,
      `The bearer token lives ${lifetimeS} s, longer than the ${limits.maxLifetimeS} s this server accepts; use a shorter-lived token.`,
    );
}

/**
 * Verifies JWTs of one issuer: explicit algorithm allow-list, exact `iss`, `aud`, `exp`/`nbf` with bounded clock
 * tolerance, size cap before parsing. Keys come from the issuer's JWKS (see createJwksKeySource).
 */
export function createJwtVerifier(options: {
  issuer: string;
  audience?: string;
  /** Further audiences that name this server, read per token (its own resource identifiers, bound after listening). */
  alsoAudiences?: () => readonly string[];
  /** The JWKS URL, or how to discover it (on first use). */
  jwksUri: string | (() => Promise<string>);
  algorithms: string[];
  clockToleranceS: number;
  maxTokenBytes: number;
  /** Longest lifetime accepted (`exp - iat`, or `exp - now` without `iat`). */
  maxTokenLifetimeS: number;
  jwks?: JwksTiming;
  /** Verified tokens kept for reuse, at most (the token cache's size: one per identity passing through). */
  verifiedCacheEntries?: number;
  /** Milliseconds since the epoch: the reuse window, the JWKS cache age and jose's `exp`/`nbf` checks use it. */
  now?: () => number;
}) {
  const timing = options.jwks ?? DEFAULT_JWKS_TIMING;
  const clock = options.now ?? Date.now;
  const keys = createJwksKeySource(options.jwksUri, timing, clock);
  // A token verified moments ago is not verified again (a signature check per request is the hot path's largest
  // cost); never past its `exp`, nor longer than keys are cached, so a revoked key stops verifying just as soon.
  const verified = new LRUCache<string, { payload: JWTPayload; untilMs: number }>({
    max: options.verifiedCacheEntries ?? VERIFIED_CACHE_ENTRIES,
  });
  const reuseMs = Math.min(VERIFIED_REUSE_MS, timing.cacheMaxAgeMs);
  return async function verify(token: string): Promise<VerifiedJwt> {
    if (Buffer.byteLength(token) > options.maxTokenBytes)
      throw new IdentityError(ErrorCodes.TOKEN_INVALID, "The bearer token is larger than allowed.");
    // Keyed by the token itself (memory only, bounded): a lookup hashes it with the engine's own string hash, so a
    // reused token costs no digest.
    const now = clock();
    const hit = verified.get(token);
    if (hit && hit.untilMs > now) return { payload: hit.payload };
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        ...audienceOption(options.audience, options.alsoAudiences?.()),
        algorithms: options.algorithms,
        clockTolerance: options.clockToleranceS,
        requiredClaims: ["exp", "sub"],
        currentDate: new Date(now),
      });
      checkClaims(payload, Math.floor(now / 1000), {
        clockToleranceS: options.clockToleranceS,
        maxLifetimeS: options.maxTokenLifetimeS,
      });
      verified.set(token, { payload, untilMs: Math.min(now + reuseMs, payload.exp! * 1000) });
      return { payload };
    } catch (err) {
      throw verificationError(err);
    }
  };
}

/** jose's `audience` check: any one of them must be in `aud`; none given, `aud` is not checked. */
function audienceOption(audience: string | undefined, also: readonly string[] = []): { audience?: string[] } {
  const audiences = audience ? [audience, ...also] : [...also];
  return audiences.length > 0 ? { audience: audiences } : {};
}

/** The limits every inbound token verifier takes from configuration: size, lifetime, skew, JWKS timing, reuse cache. */
export function verifierLimits(config: Config, now?: () => number) {
  const { federation, tokenCache } = config.identity;
  return {
    clockToleranceS: federation.clockToleranceS,
    maxTokenBytes: federation.maxTokenBytes,
    maxTokenLifetimeS: federation.maxTokenLifetimeS,
    jwks: federation.jwks,
    verifiedCacheEntries: tokenCache.maxEntries,
    now,
  };
}

/** A verifier for one configured IdP: its issuer, audience, algorithms and JWKS (discovered when not given). */
export function issuerVerifier(
  issuer: Pick<FederationIssuerConfig, "issuer" | "audience" | "jwksUri" | "algorithms">,
  options: Pick<
    Parameters<typeof createJwtVerifier>[0],
    | "clockToleranceS"
    | "maxTokenBytes"
    | "maxTokenLifetimeS"
    | "jwks"
    | "verifiedCacheEntries"
    | "now"
    | "alsoAudiences"
  >,
) {
  return createJwtVerifier({
    issuer: issuer.issuer,
    audience: issuer.audience,
    jwksUri: issuer.jwksUri ?? (() => discoverJwksUri(issuer.issuer)),
    algorithms: issuer.algorithms,
    ...options,
  });
}
