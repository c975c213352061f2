import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { createJwtVerifier } from "../../src/identity/jwt-verifier.js";
import { FakeClock } from "../support/fake-clock.js";

let workspace: LocalWorkspace;
beforeAll(async () => {
  workspace = await startLocalWorkspace({});
});
afterAll(async () => {
  await workspace?.close();
});

/** A verifier of the local IdP's tokens whose time is `clock`'s (it starts at the wall clock, then moves on demand). */
function verifierFor(clock: FakeClock, cacheMaxAgeMs: number) {
  return createJwtVerifier({
    issuer: workspace.idp.issuer,
    audience: workspace.context.seed.workspace.federationAudience,
    jwksUri: workspace.idp.jwksUri,
    algorithms: ["RS256"],
    clockToleranceS: 0,
    maxTokenBytes: 8192,
    maxTokenLifetimeS: 86_400,
    jwks: { cooldownMs: 0, cacheMaxAgeMs },
    now: () => clock.now(),
  });
}

describe("a verified bearer is reused only within its limits", () => {
  it("is never accepted past its exp, even when it was verified a moment before", async () => {
    const clock = new FakeClock(Date.now());
    const verify = verifierFor(clock, 60 * 60_000);
    const token = await workspace.idp.mintToken({ sub: "wendy.west", role: "west_sales", ttlSeconds: 60 });
    await expect(verify(token)).resolves.toMatchObject({ payload: { sub: "wendy.west" } });
    await clock.advance(59_000);
    await expect(verify(token)).resolves.toBeDefined();
    await clock.advance(2_000);
    await expect(verify(token)).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
  });

  it("is checked again once the key cache age has passed, so a revoked key stops verifying as soon as before", async () => {
    const clock = new FakeClock(Date.now());
    const verify = verifierFor(clock, 5_000);
    const token = await workspace.idp.mintToken({ sub: "ada.admin", role: "admin" });
    await verify(token);
    const fetches = workspace.idp.jwksFetchCount();
    await workspace.idp.revokeKey(workspace.idp.currentKid());
    // Within the window the previous check stands, without asking the IdP; past it the revoked key no longer verifies.
    await clock.advance(4_999);
    await expect(verify(token)).resolves.toBeDefined();
    expect(workspace.idp.jwksFetchCount()).toBe(fetches);
    await clock.advance(1);
    await expect(verify(token)).rejects.toMatchObject({ code: "TOKEN_INVALID" });
    expect(workspace.idp.jwksFetchCount()).toBeGreaterThan(fetches);
  });

  it("keeps the JWKS for its cache age on the verifier's clock, then fetches it again", async () => {
    const clock = new FakeClock(Date.now());
    const verify = verifierFor(clock, 60_000);
    const first = await workspace.idp.mintToken({ sub: "evan.east", role: "east_sales" });
    await verify(first);
    const fetches = workspace.idp.jwksFetchCount();
    await clock.advance(59_000);
    await verify(await workspace.idp.mintToken({ sub: "erin.exec", role: "executive", ttlSeconds: 600 }));
    expect(workspace.idp.jwksFetchCount()).toBe(fetches);
    await clock.advance(1_000);
    await verify(await workspace.idp.mintToken({ sub: "fiona.finance", role: "finance", ttlSeconds: 600 }));
    expect(workspace.idp.jwksFetchCount()).toBe(fetches + 1);
  });

  it("never turns a refused token into an accepted one on a second try", async () => {
    const verify = verifierFor(new FakeClock(Date.now()), 60_000);
    const good = await workspace.idp.mintToken({ sub: "evan.east", role: "east_sales" });
    const [header, payload] = good.split(".");
    const forged = `${header}.${payload}.${"A".repeat(342)}`;
    await expect(verify(forged)).rejects.toMatchObject({ code: "TOKEN_INVALID" });
    await verify(good);
    await expect(verify(forged)).rejects.toMatchObject({ code: "TOKEN_INVALID" });
  });
});
