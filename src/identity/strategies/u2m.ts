import { ErrorCodes, IdentityError } from "../../errors.js";
import { TokenCache, cacheKey } from "../token-cache.js";
import type { AccessToken, CredentialStrategy, ResolvedCaller } from "../types.js";
import type { LoginCache, SavedLogin } from "../u2m/login-cache.js";
import { refreshUserToken } from "../workspace-oauth.js";

const LOGIN_HINT = "run `databricks-governed-mcp login` (Authorization Code + PKCE in your browser)";

/**
 * U2M (stdio only): the developer's own login saved by `databricks-governed-mcp login`. The saved access token is
 * used until the refresh margin, then renewed with the refresh token and saved back (0600). One process refreshes at
 * a time (the login cache's lock); the others then reuse its refresh rather than spend the refresh token again.
 */
export function createU2MStrategy(options: {
  host: string;
  loginCache: LoginCache;
  cache: TokenCache;
  refreshMarginS: number;
  /** Milliseconds since the epoch, for the refresh margin. */
  now?: () => number;
}): CredentialStrategy {
  const { host, loginCache, cache, refreshMarginS } = options;
  const now = options.now ?? Date.now;

  /** Re-read each time: another process (or a new login) may have renewed it since start. */
  function savedLogin(): SavedLogin {
    const saved = loginCache.get(host);
    if (!saved) throw new IdentityError(ErrorCodes.UNAUTHENTICATED, `No saved login for ${host}: ${LOGIN_HINT}.`);
    return saved;
  }
  const usable = (login: SavedLogin) => login.expiresAt - refreshMarginS > now() / 1000;
  const tokenOf = (login: SavedLogin): AccessToken => ({
    accessToken: login.accessToken,
    expiresAt: login.expiresAt,
    scopes: login.scopes,
  });

  async function currentToken(forceRefresh: boolean): Promise<AccessToken> {
    const seen = savedLogin();
    if (!forceRefresh && usable(seen)) return tokenOf(seen);
    return loginCache.withLock(async (save) => {
      const saved = savedLogin();
      // Renewed while this waited for the lock: reuse it (after a 401 too, as long as it is not the refused token).
      if (usable(saved) && (!forceRefresh || saved.accessToken !== seen.accessToken)) return tokenOf(saved);
      if (!saved.refreshToken)
        throw new IdentityError(ErrorCodes.TOKEN_EXPIRED, `The saved login for ${host} has expired: ${LOGIN_HINT}.`);
      const fresh = await refreshUserToken(host, saved.clientId, saved.refreshToken);
      const scopes = fresh.scopes.length > 0 ? fresh.scopes : saved.scopes;
      save(host, {
        ...saved,
        accessToken: fresh.accessToken,
        expiresAt: fresh.expiresAt,
        refreshToken: fresh.refreshToken ?? saved.refreshToken,
        scopes,
      });
      return { accessToken: fresh.accessToken, expiresAt: fresh.expiresAt, scopes };
    });
  }

  return {
    mode: "u2m",
    accepts: () => loginCache.get(host) !== undefined,
    async resolve(): Promise<ResolvedCaller> {
      const saved = loginCache.get(host);
      if (!saved) throw new IdentityError(ErrorCodes.UNAUTHENTICATED, `No saved login for ${host}: ${LOGIN_HINT}.`);
      const key = cacheKey("u2m", saved.user ?? host, saved.scopes, host);
      return {
        identity: {
          mode: "u2m",
          source: "login-cache",
          ...(saved.user ? { human: saved.user, expectedPrincipal: saved.user } : {}),
          scopes: saved.scopes,
        },
        credential: {
          token: async (request) => {
            const force = Boolean(request?.forceRefresh);
            if (force) cache.evict(key);
            return cache.get(key, () => currentToken(force));
          },
          current: () => cache.fresh(key),
        },
      };
    },
  };
}
