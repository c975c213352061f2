import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { createJwtVerifier } from "../../src/identity/jwt-verifier.js";

let workspace: LocalWorkspace;
beforeAll(async () => {
  workspace = await startLocalWorkspace({});
});
afterAll(async () => {
  await workspace?.close();
});

function verifierFor(cacheMaxAgeMs: number) {
  return createJwtVerifier({
    issuer: workspace.idp.issuer,
    audience: workspace.context.seed.workspace.federationAudience,
    jwksUri: workspace.idp.jwksUri,
    algorithms: ["RS256"],
    clockToleranceS: 0,
    maxTokenBytes: 8192,
    jwks: { cooldownMs: 0, cacheMaxAgeMs },
  });
}

describe("a verified bearer is reused only within its limits", () => {
  it("is never accepted past its exp, even when it was verified a moment before", async () => {
    const verify = verifierFor(60_000);
    const token = await workspace.idp.mintToken({ sub: "wendy.west", role: "west_sales", ttlSeconds: 1 });
    await expect(verify(token)).resolves.toMatchObject({ payload: { sub: "wendy.west" } });
    await new Promise((r) => setTimeout(r, 1200));
    await expect(verify(token)).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
  });

  it("is checked again once the key cache age has passed, so a revoked key stops verifying as soon as before", async () => {
    const verify = verifierFor(300);
    const token = await workspace.idp.mintToken({ sub: "ada.admin", role: "admin" });
    await verify(token);
    await workspace.idp.revokeKey(workspace.idp.currentKid());
    // Within the window the previous check stands; past it the revoked key no longer verifies.
    await expect(verify(token)).resolves.toBeDefined();
    await new Promise((r) => setTimeout(r, 500));
    await expect(verify(token)).rejects.toMatchObject({ code: "TOKEN_INVALID" });
  });

  it("never turns a refused token into an accepted one on a second try", async () => {
    const verify = verifierFor(60_000);
    const good = await workspace.idp.mintToken({ sub: "evan.east", role: "east_sales" });
    const [header, payload] = good.split(".");
    const forged = `${header}.${payload}.${"A".repeat(342)}`;
    await expect(verify(forged)).rejects.toMatchObject({ code: "TOKEN_INVALID" });
    await verify(good);
    await expect(verify(forged)).rejects.toMatchObject({ code: "TOKEN_INVALID" });
  });
});
