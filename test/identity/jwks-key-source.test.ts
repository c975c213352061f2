import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from "jose";
import { createJwksKeySource } from "../../src/identity/jwks-key-source.js";
import { FakeClock } from "../support/fake-clock.js";

const COOLDOWN_MS = 30_000;
const TIMING = { cooldownMs: COOLDOWN_MS, cacheMaxAgeMs: 10 * 60_000 };

/** A loopback JWKS endpoint whose published keys a test replaces, counting the fetches it answers. */
let server: Server;
let jwksUri: string;
let published: JWK[] = [];
let fetches = 0;

beforeAll(async () => {
  server = createServer((_req, res) => {
    fetches += 1;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function signingKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const sign = (sub: string) => new SignJWT({ sub }).setProtectedHeader({ alg: "RS256", kid }).sign(privateKey);
  return { jwk, sign };
}

/** A key source on a fake clock that has fetched once and verified a token of `first`; `second` is not published yet. */
async function warmSource(firstKid: string, secondKid: string) {
  const clock = new FakeClock();
  const first = await signingKey(firstKid);
  const second = await signingKey(secondKid);
  published = [first.jwk];
  fetches = 0;
  const keys = createJwksKeySource(jwksUri, TIMING, () => clock.now());
  await jwtVerify(await first.sign("warm"), keys);
  return { clock, first, second, keys };
}

describe("the JWKS key source after the IdP rotates its key", () => {
  it("accepts every concurrent call signed by the new key once the cooldown has passed, with one refetch", async () => {
    const { clock, first: oldKey, second: newKey, keys } = await warmSource("k-old", "k-new");
    expect(fetches).toBe(1);

    published = [oldKey.jwk, newKey.jwk];
    await clock.advance(COOLDOWN_MS);
    const tokens = await Promise.all(Array.from({ length: 16 }, (_, i) => newKey.sign(`caller-${i}`)));
    const results = await Promise.allSettled(tokens.map((t) => jwtVerify(t, keys)));

    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(fetches).toBe(2);
  });

  it("refetches at most once per cooldown, however many calls bring an unknown key", async () => {
    const { clock, second: unpublished, keys } = await warmSource("k-known", "k-unpublished");

    await clock.advance(COOLDOWN_MS);
    const first = await Promise.allSettled(
      Array.from({ length: 8 }, async (_, i) => jwtVerify(await unpublished.sign(`a-${i}`), keys)),
    );
    await clock.advance(COOLDOWN_MS - 1);
    const within = await Promise.allSettled([jwtVerify(await unpublished.sign("b"), keys)]);

    expect([...first, ...within].every((r) => r.status === "rejected")).toBe(true);
    expect(fetches).toBe(2);
  });

  it("accepts a key published during the cooldown once the cooldown has passed, not before", async () => {
    const { clock, first: oldKey, second: newKey, keys } = await warmSource("k-1", "k-2");

    published = [oldKey.jwk, newKey.jwk];
    await clock.advance(COOLDOWN_MS - 1);
    await expect(jwtVerify(await newKey.sign("early"), keys)).rejects.toThrow();
    expect(fetches).toBe(1);
    await clock.advance(1);
    await expect(jwtVerify(await newKey.sign("on-time"), keys)).resolves.toBeDefined();
    expect(fetches).toBe(2);
  });
});
