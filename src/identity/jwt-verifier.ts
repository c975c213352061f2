import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from "jose";
import { ErrorCodes, IdentityError } from "../errors.js";
import type { FederationIssuerConfig } from "../config/schema.js";

export interface VerifiedJwt {
  payload: JWTPayload;
}

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
  if (err instanceof errors.JWTExpired)
    return new IdentityError(ErrorCodes.TOKEN_EXPIRED, "The bearer token has expired; obtain a new one.");
  const code = (err as { code?: string }).code ?? "ERR_UNKNOWN";
  return new IdentityError(ErrorCodes.TOKEN_INVALID, `The bearer token was refused (${code}).`);
}

/**
 * Verifies JWTs of one issuer: explicit algorithm allow-list, exact `iss`, `aud`, `exp`/`nbf` with bounded clock
 * tolerance, size cap before parsing. Keys come from the issuer's JWKS, refetched at most once per cooldown for an
 * unknown `kid`; keys already fetched keep working while the JWKS endpoint is down.
 */
export function createJwtVerifier(options: {
  issuer: string;
  audience?: string;
  jwksUri: string;
  algorithms: string[];
  clockToleranceS: number;
  maxTokenBytes: number;
}) {
  const jwks = createRemoteJWKSet(new URL(options.jwksUri), {
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
    timeoutDuration: 5000,
  });
  return async function verify(token: string): Promise<VerifiedJwt> {
    if (Buffer.byteLength(token) > options.maxTokenBytes)
      throw new IdentityError(ErrorCodes.TOKEN_INVALID, "The bearer token is larger than allowed.");
    try {
      const { payload } = await jwtVerify(token, jwks, {
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

export function federationVerifier(issuer: FederationIssuerConfig, clockToleranceS: number, maxTokenBytes: number) {
  return createJwtVerifier({
    issuer: issuer.issuer,
    audience: issuer.audience,
    jwksUri: issuer.jwksUri ?? `${issuer.issuer.replace(/\/$/, "")}/jwks`,
    algorithms: issuer.algorithms,
    clockToleranceS,
    maxTokenBytes,
  });
}
