import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JSONWebKeySet,
} from "jose";

export interface JwksTiming {
  /** No refetch for an unknown `kid` sooner than this after the last fetch (guards the IdP against kid floods). */
  cooldownMs: number;
  /** Keys are refetched once older than this. */
  cacheMaxAgeMs: number;
}

/**
 * The issuer's JWKS, fetched remotely and refetched for an unknown `kid` (a rotated key is picked up without
 * restart). When the endpoint fails, the last key set fetched keeps verifying: an IdP outage does not break keys
 * already known, while an unknown `kid` still fails.
 */
export function createJwksKeySource(jwksUri: string | (() => Promise<string>), timing: JwksTiming) {
  const remoteFor = (uri: string) =>
    createRemoteJWKSet(new URL(uri), {
      cooldownDuration: timing.cooldownMs,
      cacheMaxAge: timing.cacheMaxAgeMs,
      timeoutDuration: 5000,
    });
  let remote: ReturnType<typeof remoteFor> | undefined = typeof jwksUri === "string" ? remoteFor(jwksUri) : undefined;
  let lastKnown: { jwks: JSONWebKeySet; keys: ReturnType<typeof createLocalJWKSet> } | undefined;

  function remember(): void {
    const jwks = remote?.jwks();
    if (jwks && jwks !== lastKnown?.jwks) lastKnown = { jwks, keys: createLocalJWKSet(jwks) };
  }

  return async function keyFor(header: JWSHeaderParameters, token: FlattenedJWSInput) {
    try {
      remote ??= remoteFor(await (jwksUri as () => Promise<string>)());
      const key = await remote(header, token);
      remember();
      return key;
    } catch (err) {
      const unreachable = !(err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys);
      if (unreachable && lastKnown) return lastKnown.keys(header, token);
      throw err;
    }
  };
}
