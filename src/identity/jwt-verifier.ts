import { decodeJwt, errors, jwtVerify, type JWTPayload } from "jose";
import { ErrorCodes, IdentityError } from "../errors.js";
import type { FederationIssuerConfig } from "../config/schema.js";
import { discoverJwksUri } from "./idp-oauth.js";
import { createJwksKeySource, type JwksTiming } from "./jwks-key-source.js";

export interface VerifiedJwt {
  payload: JWTPayload;
}

export const DEFAULT_JWKS_TIMING: JwksTiming = { cooldownMs: 30_000, cacheMaxAgeMs: 10 * 60_000 };

/** Reads the issuer of a bearer without trusting it: used only to pick which verifier runs. */
export function peekIssuer(token: string): string | undefined {
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
  const code = (err as { code?: string }).code ?? "ERR_UNKNOWN";
  return new IdentityError(ErrorCodes.TOKEN_INVALID, `The bearer token was refused (${code}).`);
}

/**
 * Verifies JWTs of one issuer: explicit algorithm allow-list, exact `iss`, `aud`, `exp`/`nbf` with bounded clock
 * tolerance, size cap before parsing. Keys come from the issuer's JWKS (see createJwksKeySource).
 */
export function createJwtVerifier(options: {
  issuer: string;
  audience?: string;
  /** The JWKS URL, or how to discover it (on first use). */
  jwksUri: string | (() => Promise<string>);
  algorithms: string[];
  clockToleranceS: number;
  maxTokenBytes: number;
  jwks?: JwksTiming;
}) {
  const keys = createJwksKeySource(options.jwksUri, options.jwks ?? DEFAULT_JWKS_TIMING);
  return async function verify(token: string): Promise<VerifiedJwt> {
    if (Buffer.byteLength(token) > options.maxTokenBytes)
      throw new IdentityError(ErrorCodes.TOKEN_INVALID, "The bearer token is larger than allowed.");
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        ...(options.audience ? { audience: options.audience } : {}),
        algorithms: options.algorithms,
        clockTolerance: options.clockToleranceS,
        requiredClaims: ["exp", "sub"],
      });
      return { payload };
    } catch (err) {
      throw verificationError(err);
    }
  };
}

export function federationVerifier(
  issuer: FederationIssuerConfig,
  options: { clockToleranceS: number; maxTokenBytes: number; jwks?: JwksTiming },
) {
  return createJwtVerifier({
    issuer: issuer.issuer,
    audience: issuer.audience,
    jwksUri: issuer.jwksUri ?? (() => discoverJwksUri(issuer.issuer)),
    algorithms: issuer.algorithms,
    ...options,
  });
}
