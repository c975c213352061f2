import { LRUCache } from "lru-cache";

/**
 * A pure function of a caller, remembered for the most recently seen `maxEntries` callers: a returning caller costs a
 * lookup. The server's per-caller caches take the one configured bound (`identity.tokenCache.maxEntries`), so a
 * flood of distinct callers holds no more than that many entries in any of them.
 */
export function perCallerMemo(maxEntries: number, compute: (input: string) => string): (input: string) => string {
  const remembered = new LRUCache<string, string>({ max: maxEntries });
  return (input) => {
    let value = remembered.get(input);
    if (value === undefined) remembered.set(input, (value = compute(input)));
    return value;
  };
}
