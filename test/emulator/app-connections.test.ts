import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";

let workspace: LocalWorkspace;
beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
});
afterAll(async () => {
  await workspace?.close();
});

const connection = () => workspace.context.seed.workspace.appConnections[0]!;
const REDIRECT = "http://127.0.0.1:45678/oauth/databricks/callback";
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;

/** A signed-in user's code, as the workspace's SSO page would give it to the app connection's redirect URL. */
async function codeFor(user: string, redirectUri = REDIRECT) {
  const verifier = randomBytes(32).toString("base64url");
  const url = new URL(`${workspace.baseUrl}/oidc/v1/authorize`);
  for (const [k, v] of Object.entries({
    client_id: connection().clientId,
    redirect_uri: redirectUri,
    response_type: "code",
    scope: "all-apis offline_access",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    state: "s1",
    user,
  }))
    url.searchParams.set(k, v);
  const res = await fetch(url, { redirect: "manual" });
  return { res, verifier, code: new URL(res.headers.get("location") ?? "http://x/").searchParams.get("code") };
}

async function token(form: Record<string, string>, secret?: string) {
  const res = await fetch(`${workspace.baseUrl}/oidc/v1/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(secret === undefined ? {} : { authorization: basic(connection().clientId, secret) }),
    },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

const me = async (accessToken: string) =>
  (
    await fetch(`${workspace.baseUrl}/api/2.0/preview/scim/v2/Me`, {
      headers: { authorization: `Bearer ${accessToken}` },
    })
  ).status;

async function signIn(user: string) {
  const { code, verifier } = await codeFor(user);
  const form = { grant_type: "authorization_code", code: code!, redirect_uri: REDIRECT, code_verifier: verifier };
  return token(form, connection().clientSecret);
}

describe("app connections: authorization code + PKCE for a confidential client", () => {
  it("redirects to a registered loopback callback on any port, and refuses an unregistered one", async () => {
    expect((await codeFor("wendy.west@example.com")).res.status).toBe(302);
    expect((await codeFor("wendy.west@example.com", "https://evil.example.com/cb")).res.status).toBe(400);
    expect((await codeFor("wendy.west@example.com", "http://127.0.0.1:45678/elsewhere")).res.status).toBe(400);
  });

  it("redeems a code only with the connection's secret", async () => {
    const { code, verifier } = await codeFor("wendy.west@example.com");
    const form = { grant_type: "authorization_code", code: code!, redirect_uri: REDIRECT, code_verifier: verifier };
    expect(await token({ ...form, client_id: connection().clientId })).toMatchObject({
      status: 401,
      body: { error: "invalid_client" },
    });
    const again = await signIn("wendy.west@example.com");
    expect(again.status).toBe(200);
    expect(again.body.refresh_token).toEqual(expect.any(String));
    expect(await me(again.body.access_token!)).toBe(200);
  });

  it("rotates refresh tokens, only for the connection with its secret", async () => {
    const { body } = await signIn("evan.east@example.com");
    const refresh = { grant_type: "refresh_token", refresh_token: body.refresh_token! };
    expect((await token(refresh)).body.error).toBe("invalid_client");
    const rotated = await token(refresh, connection().clientSecret);
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).not.toBe(body.refresh_token);
    expect((await token(refresh, connection().clientSecret)).body.error).toBe("invalid_grant");
  });

  it("a revoked sign-in ends: its refresh token is refused and its access tokens stop working", async () => {
    const { body } = await signIn("maria.manager@example.com");
    expect(await me(body.access_token!)).toBe(200);
    workspace.context.userGrants!.revoke("maria.manager@example.com", connection().clientId);
    expect(await me(body.access_token!)).toBe(401);
    const refresh = { grant_type: "refresh_token", refresh_token: body.refresh_token! };
    expect((await token(refresh, connection().clientSecret)).body.error).toBe("invalid_grant");
  });
});
