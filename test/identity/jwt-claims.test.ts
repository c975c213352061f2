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

const HOUR_S = 3600;

function verifierFor(clock: FakeClock, maxTokenLifetimeS = HOUR_S) {
  return createJwtVerifier({
    issuer: workspace.idp.issuer,
    audience: workspace.context.seed.workspace.federationAudience,
    jwksUri: workspace.idp.jwksUri,
    algorithms: ["RS256"],
    clockToleranceS: 30,
    maxTokenBytes: 8192,
    maxTokenLifetimeS,
    now: () => clock.now(),
  });
}

/** A token of the local IdP whose time claims are set from `clock` (seconds), not from the wall clock. */
function mint(clock: FakeClock, claims: { iat?: number; exp: number; nbf?: number; sub?: unknown }) {
  const nowS = Math.floor(clock.now() / 1000);
  const { sub, ...times } = claims;
  return workspace.idp.mintToken({
    sub: ("sub" in claims ? sub : "wendy.west") as string,
    role: "west_sales",
    ...Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v === undefined ? undefined : nowS + v])),
  });
}

describe("claims jose leaves to the verifier", () => {
  it("refuses an iat in the future beyond the clock tolerance, and accepts one within it", async () => {
    const clock = new FakeClock(Date.now());
    const verify = verifierFor(clock);
    await expect(verify(await mint(clock, { iat: 31, exp: 600 }))).rejects.toMatchObject({
      code: "TOKEN_INVALID",
      message: expect.stringContaining("`iat` is in the future"),
    });
    await expect(verify(await mint(clock, { iat: 30, exp: 600 }))).resolves.toBeDefined();
  });

  it("refuses a lifetime (exp − iat) above the maximum, and accepts one at it", async () => {
    const clock = new FakeClock(Date.now());
    const verify = verifierFor(clock);
    await expect(verify(await mint(clock, { iat: 0, exp: HOUR_S + 1 }))).rejects.toMatchObject({
      code: "TOKEN_INVALID",
      message: expect.stringContaining(`longer than the ${HOUR_S} s this server accepts`),
    });
    await expect(verify(await mint(clock, { iat: 0, exp: HOUR_S }))).resolves.toBeDefined();
  });

  it("measures the lifetime as exp − now when the token has no iat", async () => {
    const clock = new FakeClock(Date.now());
    const verify = verifierFor(clock);
    const token = await mint(clock, { iat: undefined, exp: 2 * HOUR_S });
    await expect(verify(token)).rejects.toMatchObject({ code: "TOKEN_INVALID" });
    await clock.advance((HOUR_S + 1) * 1000);
    await expect(verify(token)).resolves.toBeDefined();
  });

  it("uses its clock for exp and nbf: a token not yet valid on the wall clock is valid on a clock an hour ahead", async () => {
    const clock = new FakeClock(Date.now() + HOUR_S * 1000);
    const verify = verifierFor(clock);
    const wallNowS = Math.floor(Date.now() / 1000);
    const token = await workspace.idp.mintToken({
      sub: "wendy.west",
      role: "west_sales",
      iat: wallNowS + HOUR_S - 60,
      nbf: wallNowS + HOUR_S - 60,
      exp: wallNowS + HOUR_S + 600,
    });
    await expect(verify(token)).resolves.toBeDefined();
    // Past exp by more than the 30 s clock tolerance.
    await clock.advance(631_000);
    await expect(verify(token)).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
  });

  it.each([
    ["missing", undefined, "has no `sub` claim"],
    ["empty", "", "`sub` claim is empty"],
    ["blank", "   ", "`sub` claim is empty"],
    ["a number", 42, "`sub` claim is empty or not a string"],
  ])("refuses a sub that is %s", async (_kind, sub, message) => {
    const clock = new FakeClock(Date.now());
    await expect(verifierFor(clock)(await mint(clock, { iat: 0, exp: 600, sub }))).rejects.toMatchObject({
      code: "TOKEN_INVALID",
      message: expect.stringContaining(message),
    });
  });
});
