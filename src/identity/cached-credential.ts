import type { TokenCache } from "./token-cache.js";
import type { AccessToken, WorkspaceCredential } from "./types.js";

/** A credential whose token comes from the cache, fetched (once) on a miss; a 401 evicts and fetches again. */
export function cachedCredential(
  cache: TokenCache,
  key: string,
  fetch: () => Promise<AccessToken>,
): WorkspaceCredential {
  return {
    token: async (options) => {
      if (options?.forceRefresh) cache.evict(key);
      return cache.get(key, fetch);
    },
    current: () => cache.fresh(key),
  };
}
