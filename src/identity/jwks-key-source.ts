import { createLocalJWKSet, errors, type FlattenedJWSInput, type JWSHeaderParameters } from "jose";
import { ErrorCodes, IdentityError } from "../errors.js";

export interface JwksTiming {
  /** No refetch for an unknown `kid` sooner than this after the last fetch (guards the IdP against kid floods). */
  cooldownMs: number;
  /** Keys are refetched once older than this. */
  cacheMaxAgeMs: number;
}

const FETCH_TIMEOUT_MS = 5000;

type LocalKeys = ReturnType<typeof createLocalJWKSet>;

async function fetchKeys(uri: string): Promise<LocalKeys> {
  const res = await fetch(uri, {
    redirect: "manual",
    headers: { accept: "application/json, application/jwk-set+json" },
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return createLocalJWKSet((await res.json()) as Parameters<typeof createLocalJWKSet>[0]);
}

/**
 * The issuer's JWKS, fetched remotely and refetched for an unknown `kid` (a rotated key is picked up without
 * restart). When the endpoint fails, the last key set fetched keeps verifying: an IdP outage does not break keys
 * already known, while an unknown `kid` still fails. Ages are measured on `now` (milliseconds), so tests move time.
 */
export function createJwksKeySource(
  jwksUri: string | (() => Promise<string>),
  timing: JwksTiming,
  now: () => number = Date.now,
) {
  let known: { keys: LocalKeys; fetchedAt: number } | undefined;
  let lastAttemptAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<void> | undefined;

  /** One fetch at a time; a failure keeps the keys already known. */
  function refetch(): Promise<void> {
    pending ??= (async () => {
      lastAttemptAt = now();
      try {
        const uri = typeof jwksUri === "string" ? jwksUri : await jwksUri();
        known = { keys: await fetchKeys(uri), fetchedAt: now() };
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  }

  return async function keyFor(header: JWSHeaderParameters, token: FlattenedJWSInput) {
    if (!known || now() - known.fetchedAt >= timing.cacheMaxAgeMs) {
      await refetch().catch((err: unknown) => {
        if (!known)
          throw err instanceof IdentityError
            ? err
            : new IdentityError(ErrorCodes.TOKEN_INVALID, "The identity provider's signing keys could not be fetched.");
      });
    }
    const looked = known!;
    try {
      return await looked.keys(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      // An unknown kid may be a rotated key. Calls that miss together share one refetch (at most one per cooldown),
      // and a call that missed just before another call's refetch landed looks again in the keys it brought.
      if (pending) await pending.catch(() => undefined);
      else if (known === looked && now() - lastAttemptAt >= timing.cooldownMs) await refetch().catch(() => undefined);
      if (known === looked) throw err;
      return known!.keys(header, token);
    }
  };
}
