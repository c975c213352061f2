import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { cacheKey } from "../../src/identity/token-cache.js";
import { recordFigure } from "../reliability/figures.js";

/** A tuple as the cache must see it: scopes as a set. */
const canonical = (t: [string, string, string[], string]) =>
  JSON.stringify([t[0], t[1], [...new Set(t[2])].sort(), t[3]]);

// Values chosen to collide if a key were built by concatenation: separators, quotes, brackets, unicode.
const part = fc.oneof(
  fc.string(),
  fc.constantFrom("", "|", ",", '"', "\\", "[", "]", "sql", "sql sql", "a|b", "west_sales", "ｗest_sales", "\u0000"),
);
const tuple = fc.tuple(part, part, fc.array(part, { maxLength: 4 }), part);

describe("token cache key", () => {
  it("gives two callers the same key only when strategy, principal, scope set and subject all match", () => {
    fc.assert(
      fc.property(tuple, tuple, (a, b) => {
        const same = cacheKey(...a) === cacheKey(...b);
        expect(same).toBe(canonical(a) === canonical(b));
      }),
      { numRuns: 5000 },
    );
    recordFigure("token cache key: random caller pairs compared, cross-principal collisions", 5000, "collisions 0");
  });

  it("ignores the order and repetition of scopes (one token per scope set)", () => {
    fc.assert(
      fc.property(tuple, ([s, p, scopes, sub]) => {
        expect(cacheKey(s, p, [...scopes].reverse(), sub)).toBe(cacheKey(s, p, [...scopes, ...scopes], sub));
      }),
      { numRuns: 1000 },
    );
  });
});
