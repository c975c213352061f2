import { LRUCache } from "lru-cache";
import { systemClock, type Clock } from "../clock.js";
import type { AccessToken } from "./types.js";

/** A key no two different (strategy, principal, scopes, subject) tuples can share: JSON of the tuple, scopes sorted. */
export function cacheKey(strategy: string, principal: string, scopes: readonly string[], subject = ""): string {
  return JSON.stringify([strategy, principal, [...new Set(scopes)].sort(), subject]);
}

/** What the cache did since start: served from memory, missed, and token requests actually made. */
export interface TokenCacheCounters {
  hits: number;
  misses: number;
  fetches: number;
}

/**
 * Tokens per key until `refreshMarginS` before expiry; concurrent misses of one key share one fetch (single flight);
 * bounded by LRU so 10,000 passing identities cannot grow memory without limit. A failed fetch is not cached.
 */
export class TokenCache implements TokenCacheCounters {
  private readonly tokens: LRUCache<string, AccessToken>;
  private readonly inFlight = new Map<string, Promise<AccessToken>>();
  hits = 0;
  misses = 0;
  fetches = 0;

  constructor(
    readonly maxEntries: number,
    private readonly refreshMarginS: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.tokens = new LRUCache({ max: maxEntries });
  }

  get size(): number {
    return this.tokens.size;
  }

  counters(): TokenCacheCounters {
    return { hits: this.hits, misses: this.misses, fetches: this.fetches };
  }

  /** True when a token for `key` is cached and still outside the refresh margin. */
  isFresh(key: string): boolean {
    return this.outsideMargin(this.tokens.peek(key));
  }

  /** The cached token for `key` when it is outside the refresh margin (a hit); undefined, counting nothing, otherwise. */
  fresh(key: string): AccessToken | undefined {
    const cached = this.tokens.get(key);
    if (!this.outsideMargin(cached)) return undefined;
    this.hits += 1;
    return cached;
  }

  private outsideMargin(token: AccessToken | undefined): token is AccessToken {
    return token !== undefined && token.expiresAt - this.refreshMarginS > this.clock.now() / 1000;
  }

  async get(key: string, fetch: () => Promise<AccessToken>): Promise<AccessToken> {
    const cached = this.fresh(key);
    if (cached) return cached;
    this.misses += 1;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const request = (async () => {
      try {
        this.fetches += 1;
        const token = await fetch();
        this.tokens.set(key, token);
        return token;
      } finally {
        this.inFlight.delete(key);
      }
    })();
    this.inFlight.set(key, request);
    return request;
  }

  evict(key: string): void {
    this.tokens.delete(key);
  }
}
