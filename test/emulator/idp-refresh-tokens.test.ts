import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { decodeJwt } from "jose";
import { Seed } from "../../emulator/seed/schema.js";
import { startLocalIdp, type LocalIdp } from "../../emulator/idp/provider.js";
import { signInForTokens, tokenRequest } from "../support/idp-authorization.js";

const seed = Seed.parse(
  JSON.parse(readFileSync(new URL("../../emulator/seed/default-seed.json", import.meta.url), "utf8")),
);
const CLIENT = { clientId: "mcp-inspector", redirectUri: "http://127.0.0.1:47333/callback" };
const RESOURCE = "http://127.0.0.1:47334/mcp";

let idp: LocalIdp;
const consoleSpies: Array<ReturnType<typeof vi.spyOn>> = [];

beforeAll(async () => {
  for (const method of ["info", "warn"] as const) consoleSpies.push(vi.spyOn(console, method));
  idp = await startLocalIdp({ host: "127.0.0.1", port: 0, seed });
  idp.registerResource(RESOURCE);
});

afterAll(async () => {
  await idp?.close();
  for (const spy of consoleSpies) spy.mockRestore();
});

/** A public client's sign-in asking for offline access (with prompt=consent, as OpenID Connect requires for it). */
async function signIn(scope: string): Promise<Record<string, unknown>> {
  const { status, body } = await signInForTokens(idp.issuer, {
    ...CLIENT,
    account: "wendy.west",
    resource: RESOURCE,
    scope,
    extra: { prompt: "consent" },
  });
  expect(status, JSON.stringify(body)).toBe(200);
  return body;
}

const refresh = (refreshToken: string) =>
  tokenRequest(idp.issuer, { grant_type: "refresh_token", refresh_token: refreshToken, client_id: CLIENT.clientId });

describe("refresh tokens for public clients", () => {
  it("gives a public client that asks for offline_access a refresh token, and none without it", async () => {
    expect((await signIn("openid offline_access")).refresh_token).toEqual(expect.any(String));
    expect((await signIn("openid")).refresh_token).toBeUndefined();
  });

  it("rotates on every use: a new access token for the same resource and a new refresh token", async () => {
    const first = await signIn("openid offline_access");
    const { status, body } = await refresh(first.refresh_token as string);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.refresh_token).toEqual(expect.any(String));
    expect(body.refresh_token).not.toBe(first.refresh_token);
    expect(decodeJwt(body.access_token as string)).toMatchObject({ sub: "wendy.west", aud: RESOURCE });
  });

  it("refuses a rotated-out refresh token with invalid_grant, and then its successor too (the grant is revoked)", async () => {
    const first = await signIn("openid offline_access");
    const second = await refresh(first.refresh_token as string);
    expect(second.status).toBe(200);
    const reused = await refresh(first.refresh_token as string);
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe("invalid_grant");
    expect(JSON.stringify(reused.body)).not.toContain(first.refresh_token as string);
    const successor = await refresh(second.body.refresh_token as string);
    expect(successor.status).toBe(400);
    expect(successor.body.error).toBe("invalid_grant");
  });
});
