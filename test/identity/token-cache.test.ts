import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { TokenCache, cacheKey } from "../../src/identity/token-cache.js";
import type { AccessToken } from "../../src/identity/types.js";
import { FakeClock } from "../support/fake-clock.js";

const inOneHour = (name: string): AccessToken => ({
  accessToken: `token-of-${name}`,
  expiresAt: Math.floor(Date.now() / 1000) + 3600,
  scopes: ["sql"],
});

describe("TokenCache", () => {
  it("stays within maxEntries when 10,000 distinct identities pass through (LRU)", async () => {
    const cache = new TokenCache(500, 60);
    for (let i = 0; i < 10_000; i += 1) {
      await cache.get(cacheKey("federation", `sp-${i}`, ["sql"], `subject-${i}`), async () => inOneHour(String(i)));
      expect(cache.size).toBeLessThanOrEqual(500);
    }
    expect(cache.size).toBe(500);
    expect(cache.counters()).toEqual({ hits: 0, misses: 10_000, fetches: 10_000 });
  });

  it("hands out a fresh cached token at once, counted as a hit, and nothing once it is within the margin", async () => {
    const clock = new FakeClock();
    const cache = new TokenCache(10, 60, clock);
    expect(cache.fresh("k")).toBeUndefined();
    const token = { accessToken: "t", expiresAt: Math.floor(clock.now() / 1000) + 120, scopes: ["sql"] };
    await cache.get("k", async () => token);
    expect(cache.fresh("k")).toBe(token);
    expect(cache.counters()).toEqual({ hits: 1, misses: 1, fetches: 1 });
    await clock.advance(61_000);
    expect(cache.fresh("k")).toBeUndefined();
    expect(cache.counters()).toEqual({ hits: 1, misses: 1, fetches: 1 });
  });

  it("makes one fetch for many concurrent misses of one key (single flight), and counts hits after", async () => {
    const cache = new TokenCache(10, 60);
    let fetches = 0;
    let answer!: (token: AccessToken) => void;
    const fetch = () => {
      fetches += 1;
      return new Promise<AccessToken>((resolve) => (answer = resolve));
    };
    const pending = Promise.all(Array.from({ length: 200 }, () => cache.get("k", fetch)));
    answer(inOneHour("one"));
    const tokens = await pending;
    expect(fetches).toBe(1);
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set(["token-of-one"]));
    await cache.get("k", fetch);
    expect(cache.counters()).toEqual({ hits: 1, misses: 200, fetches: 1 });
  });

  it("refetches a token inside the refresh margin and does not cache a failed fetch", async () => {
    const cache = new TokenCache(10, 120);
    const soon: AccessToken = { accessToken: "old", expiresAt: Math.floor(Date.now() / 1000) + 60, scopes: [] };
    await cache.get("k", async () => soon);
    expect((await cache.get("k", async () => inOneHour("new"))).accessToken).toBe("token-of-new");
    await expect(cache.get("x", () => Promise.reject(new Error("refused")))).rejects.toThrow("refused");
    expect((await cache.get("x", async () => inOneHour("x"))).accessToken).toBe("token-of-x");
  });

  it("serves a token until the refresh margin before its expiry begins, on the clock it was given", async () => {
    const clock = new FakeClock();
    const cache = new TokenCache(10, 120, clock);
    const expiresAt = clock.now() / 1000 + 600;
    let fetches = 0;
    const fetch = async (): Promise<AccessToken> => ({ accessToken: `t${++fetches}`, expiresAt, scopes: [] });
    await cache.get("k", fetch);
    await clock.advance(479_000);
    expect(cache.isFresh("k")).toBe(true);
    expect((await cache.get("k", fetch)).accessToken).toBe("t1");
    await clock.advance(1000);
    expect(cache.isFresh("k")).toBe(false);
    expect((await cache.get("k", fetch)).accessToken).toBe("t2");
  });
});

describe("cacheKey", () => {
  const part = fc.string({ maxLength: 12 });
  const tuple = fc.record({
    strategy: part,
    principal: part,
    scopes: fc.uniqueArray(part, { maxLength: 4 }),
    subject: part,
  });
  const canonical = (t: { strategy: string; principal: string; scopes: string[]; subject: string }) =>
    JSON.stringify([t.strategy, t.principal, [...t.scopes].sort(), t.subject]);

  it("never collides for distinct (strategy, principal, scopes, subject), whatever characters they hold", () => {
    fc.assert(
      fc.property(tuple, tuple, (a, b) => {
        fc.pre(canonical(a) !== canonical(b));
        expect(cacheKey(a.strategy, a.principal, a.scopes, a.subject)).not.toBe(
          cacheKey(b.strategy, b.principal, b.scopes, b.subject),
        );
      }),
      { numRuns: 5000 },
    );
  });

  it("does not depend on the order of scopes", () => {
    fc.assert(
      fc.property(tuple, (t) => {
        const reversed = [...t.scopes].reverse();
        expect(cacheKey(t.strategy, t.principal, reversed, t.subject)).toBe(
          cacheKey(t.strategy, t.principal, t.scopes, t.subject),
        );
      }),
    );
  });
});
