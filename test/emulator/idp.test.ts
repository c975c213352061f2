import { readFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
} from "jose";
import { Seed } from "../../emulator/seed/schema.js";
import { startLocalIdp, type LocalIdp } from "../../emulator/idp/provider.js";
import { CookieJarBrowser } from "../support/browser.js";
import { tokenRequest } from "../support/idp-authorization.js";

const seed = Seed.parse(
  JSON.parse(readFileSync(new URL("../../emulator/seed/default-seed.json", import.meta.url), "utf8")),
);
const AUDIENCE = seed.workspace.federationAudience;
const westClient = seed.idpClients.find((client) => client.role === "west_sales")!;
const REDIRECT_URI = "http://127.0.0.1:53682/callback";

let idp: LocalIdp;
const consoleSpies: Array<ReturnType<typeof vi.spyOn>> = [];

beforeAll(async () => {
  for (const method of ["log", "info", "warn", "error"] as const) consoleSpies.push(vi.spyOn(console, method));
  idp = await startLocalIdp({ host: "127.0.0.1", port: 0, seed });
});

afterAll(async () => {
  await idp?.close();
  for (const spy of consoleSpies) spy.mockRestore();
});

async function discovery(): Promise<Record<string, unknown>> {
  const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

async function jwks(): Promise<JSONWebKeySet> {
  return (await (await fetch(idp.jwksUri)).json()) as JSONWebKeySet;
}

/** Verifies the way a relying party does: RS256 only, exact issuer, the federation audience, keys fetched now. */
async function verify(token: string) {
  return jwtVerify(token, createLocalJWKSet(await jwks()), {
    algorithms: ["RS256"],
    issuer: idp.issuer,
    audience: AUDIENCE,
  });
}

function clientCredentials(body: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${idp.issuer}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams({ grant_type: "client_credentials", ...body }),
  });
}

function basic(id: string, secret: string): Record<string, string> {
  return {
    authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`,
  };
}

async function westSalesToken(): Promise<string> {
  const res = await clientCredentials({}, basic(westClient.clientId, westClient.clientSecret));
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

describe("local IdP discovery", () => {
  it("publishes the exact issuer, without a trailing slash, and its endpoints", async () => {
    const doc = await discovery();
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(doc.issuer).toBe(idp.issuer);
    expect(doc.jwks_uri).toBe(idp.jwksUri);
    expect(doc.token_endpoint).toBe(`${idp.issuer}/token`);
    expect(doc.grant_types_supported).toEqual(expect.arrayContaining(["authorization_code", "client_credentials"]));
    expect(doc.code_challenge_methods_supported).toEqual(["S256"]);
    expect(doc.registration_endpoint).toBe(`${idp.issuer}/reg`);
  });

  it("serves the same document as RFC 8414 authorization server metadata, where MCP clients look first", async () => {
    const res = await fetch(`${idp.issuer}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(await discovery());
  });

  it("refuses to listen on a non-loopback host", async () => {
    await expect(startLocalIdp({ host: "0.0.0.0", port: 0, seed })).rejects.toMatchObject({ code: "ERR_NOT_LOOPBACK" });
  });
});

describe("client credentials for role clients", () => {
  it("issues an RS256 JWT whose sub is the client id, aud the federation audience and role the client's role", async () => {
    const token = await westSalesToken();
    const { payload, protectedHeader } = await verify(token);
    expect(protectedHeader).toMatchObject({ alg: "RS256", kid: idp.currentKid() });
    expect(payload).toMatchObject({ iss: idp.issuer, sub: westClient.clientId, aud: AUDIENCE, role: "west_sales" });
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it("accepts client_secret_post as well as client_secret_basic", async () => {
    const admin = seed.idpClients.find((client) => client.role === "admin")!;
    const res = await clientCredentials({ client_id: admin.clientId, client_secret: admin.clientSecret });
    expect(res.status).toBe(200);
    const { payload } = await verify(((await res.json()) as { access_token: string }).access_token);
    expect(payload).toMatchObject({ sub: admin.clientId, role: "admin" });
  });

  it("refuses a wrong client secret with invalid_client and does not echo the secret", async () => {
    const res = await clientCredentials({}, basic(westClient.clientId, "not-the-secret-at-all"));
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ error: "invalid_client" });
    expect(text).not.toContain("not-the-secret-at-all");
  });
});

describe("mintToken", () => {
  it("signs with the current kid, fills email and role from the seed user, and verifies against the JWKS", async () => {
    const token = await idp.mintToken({ sub: "erin.exec" });
    const { payload, protectedHeader } = await verify(token);
    expect(protectedHeader.kid).toBe(idp.currentKid());
    expect(payload).toMatchObject({
      iss: idp.issuer,
      sub: "erin.exec",
      aud: AUDIENCE,
      email: "erin.exec@example.com",
      role: "executive",
    });
  });

  it("applies overrides, so tests can mint expired or foreign-issuer tokens", async () => {
    const expired = await idp.mintToken({ sub: "erin.exec", ttlSeconds: -60 });
    await expect(verify(expired)).rejects.toBeInstanceOf(joseErrors.JWTExpired);
    const foreign = await idp.mintToken({ sub: "erin.exec", iss: "https://evil.example.com", role: "admin" });
    await expect(verify(foreign)).rejects.toBeInstanceOf(joseErrors.JWTClaimValidationFailed);
  });
});

/** A cookie jar and redirect follower, by hand, the way a browser would do it. */
class Browser extends CookieJarBrowser {
  /** Follows redirects on the IdP until one leaves it (the client's redirect URI). */
  async followToClient(start: Response): Promise<URL> {
    let res = start;
    for (let hops = 0; hops < 10; hops += 1) {
      expect([302, 303]).toContain(res.status);
      const location = new URL(res.headers.get("location")!, idp.issuer);
      if (location.origin !== idp.issuer) return location;
      res = await this.request(location.href);
      if (res.status === 200) return location;
    }
    throw new Error("too many redirects");
  }
}

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function authorizeUrl(params: Record<string, string>): string {
  return `${idp.issuer}/auth?${new URLSearchParams({ response_type: "code", redirect_uri: REDIRECT_URI, scope: "openid email profile", state: "s-123", ...params })}`;
}

describe("authorization code + PKCE login of a demo user", () => {
  it("logs wendy.west in through the login page and returns a JWT access token with sub, email and role", async () => {
    const browser = new Browser();
    const { verifier, challenge } = pkce();
    const start = await browser.request(
      authorizeUrl({ client_id: "mcp-inspector", code_challenge: challenge, code_challenge_method: "S256" }),
    );
    const loginUrl = await browser.followToClient(start);
    expect(loginUrl.pathname).toMatch(/^\/interaction\//);

    const page = await browser.request(loginUrl.href);
    expect(page.status).toBe(200);
    const html = await page.text();
    for (const user of seed.users.filter((u) => u.idpSubject)) expect(html).toContain(user.userName);
    const action = /action="([^"]+)"/.exec(html)![1]!;

    const afterLogin = await browser.request(new URL(action, idp.issuer).href, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ account: "wendy.west" }),
    });
    const callback = await browser.followToClient(afterLogin);
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get("state")).toBe("s-123");
    expect(callback.searchParams.get("iss")).toBe(idp.issuer);
    const code = callback.searchParams.get("code")!;
    expect(code).toBeTruthy();

    const tokenRes = await tokenRequest(idp.issuer, {
      grant_type: "authorization_code",
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT_URI,
      client_id: "mcp-inspector",
    });
    expect(tokenRes.status).toBe(200);
    const tokens = tokenRes.body as { access_token: string; id_token: string };
    const { payload } = await verify(tokens.access_token);
    expect(payload).toMatchObject({
      sub: "wendy.west",
      email: "wendy.west@example.com",
      role: "west_sales",
      aud: AUDIENCE,
    });
    const idToken = await jwtVerify(tokens.id_token, createLocalJWKSet(await jwks()), {
      issuer: idp.issuer,
      audience: "mcp-inspector",
    });
    expect(idToken.payload).toMatchObject({ sub: "wendy.west", email: "wendy.west@example.com" });
  });

  it("refuses a token request whose code_verifier does not match the challenge", async () => {
    const browser = new Browser();
    const { challenge } = pkce();
    const loginUrl = await browser.followToClient(
      await browser.request(
        authorizeUrl({
          client_id: "databricks-governed-mcp-client",
          code_challenge: challenge,
          code_challenge_method: "S256",
        }),
      ),
    );
    const afterLogin = await browser.request(`${loginUrl.href}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ account: "ada.admin" }),
    });
    const code = (await browser.followToClient(afterLogin)).searchParams.get("code")!;
    const tokenRes = await tokenRequest(idp.issuer, {
      grant_type: "authorization_code",
      code,
      code_verifier: pkce().verifier,
      redirect_uri: REDIRECT_URI,
      client_id: "databricks-governed-mcp-client",
    });
    expect(tokenRes.status).toBe(400);
    expect(tokenRes.body).toMatchObject({ error: "invalid_grant" });
  });

  it("requires PKCE: an authorization request without code_challenge is refused", async () => {
    const browser = new Browser();
    const res = await browser.request(authorizeUrl({ client_id: "mcp-inspector" }));
    const location = new URL(res.headers.get("location")!);
    expect(location.searchParams.get("error")).toBe("invalid_request");
  });

  it("refuses an unknown account on the login page", async () => {
    const browser = new Browser();
    const loginUrl = await browser.followToClient(
      await browser.request(
        authorizeUrl({ client_id: "mcp-inspector", code_challenge: pkce().challenge, code_challenge_method: "S256" }),
      ),
    );
    const res = await browser.request(`${loginUrl.href}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ account: "olivia.obo" }),
    });
    expect(res.status).toBe(400);
  });
});

describe("dynamic client registration", () => {
  function register(metadata: Record<string, unknown>): Promise<Response> {
    return fetch(`${idp.issuer}/reg`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(metadata),
    });
  }

  it("registers a public native client with a loopback redirect URI", async () => {
    const res = await register({
      redirect_uris: ["http://localhost:33418/callback"],
      token_endpoint_auth_method: "none",
      application_type: "native",
      client_name: "test",
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { client_id: string; token_endpoint_auth_method: string };
    expect(body.client_id).toBeTruthy();
    expect(body.token_endpoint_auth_method).toBe("none");
  });

  it("lets a registered client log a user in with a known MCP resource indicator; the token's audience is that resource", async () => {
    const redirectUri = "http://localhost:41999/oauth/callback";
    const registered = await register({
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code"],
      response_types: ["code"],
    });
    const { client_id: clientId } = (await registered.json()) as { client_id: string };
    const browser = new Browser();
    const { verifier, challenge } = pkce();
    const mcpResource = "http://127.0.0.1:8765/mcp";
    idp.registerResource(mcpResource);
    const loginUrl = await browser.followToClient(
      await browser.request(
        authorizeUrl({
          client_id: clientId,
          redirect_uri: redirectUri,
          resource: mcpResource,
          code_challenge: challenge,
          code_challenge_method: "S256",
        }),
      ),
    );
    const afterLogin = await browser.request(`${loginUrl.href}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ account: "evan.east" }),
    });
    const code = (await browser.followToClient(afterLogin)).searchParams.get("code")!;
    const tokenRes = await tokenRequest(idp.issuer, {
      grant_type: "authorization_code",
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
      client_id: clientId,
      resource: mcpResource,
    });
    expect(tokenRes.status).toBe(200);
    const { payload } = await jwtVerify(
      (tokenRes.body as { access_token: string }).access_token,
      createLocalJWKSet(await jwks()),
      { algorithms: ["RS256"], issuer: idp.issuer, audience: mcpResource },
    );
    expect(payload).toMatchObject({ sub: "evan.east", role: "east_sales", aud: mcpResource, client_id: clientId });
  });

  it("refuses a redirect URI that is not on loopback with RFC 7591's invalid_redirect_uri", async () => {
    const res = await register({
      redirect_uris: ["https://attacker.example.com/callback"],
      token_endpoint_auth_method: "none",
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_redirect_uri" });
  });
});

describe("signing key rotation and revocation", () => {
  it("keeps tokens signed with the old key valid and signs new tokens with the new kid", async () => {
    const oldKid = idp.currentKid();
    const oldToken = await idp.mintToken({ sub: "maria.manager" });
    const newKid = await idp.rotateKeys();
    expect(newKid).not.toBe(oldKid);
    expect(idp.currentKid()).toBe(newKid);
    expect((await jwks()).keys.map((key) => key.kid)).toEqual([newKid, oldKid]);
    await expect(verify(oldToken)).resolves.toBeDefined();
    expect(decodeProtectedHeader(await idp.mintToken({ sub: "maria.manager" })).kid).toBe(newKid);
    const issued = await westSalesToken();
    expect(decodeProtectedHeader(issued).kid).toBe(newKid);
    await expect(verify(issued)).resolves.toBeDefined();
  });

  it("makes tokens of a revoked key fail verification", async () => {
    const doomedKid = idp.currentKid();
    const doomed = await idp.mintToken({ sub: "frank.finance" });
    await idp.rotateKeys();
    await idp.revokeKey(doomedKid);
    expect((await jwks()).keys.map((key) => key.kid)).not.toContain(doomedKid);
    await expect(verify(doomed)).rejects.toBeInstanceOf(joseErrors.JWKSNoMatchingKey);
  });

  it("rotates first when the current key is revoked, so signing never stops", async () => {
    const kid = idp.currentKid();
    await idp.revokeKey(kid);
    expect(idp.currentKid()).not.toBe(kid);
    await expect(verify(await westSalesToken())).resolves.toBeDefined();
  });

  it("rejects revoking an unknown kid", async () => {
    await expect(idp.revokeKey("no-such-kid")).rejects.toMatchObject({ code: "ERR_UNKNOWN_KID" });
  });
});

describe("JWKS endpoint", () => {
  it("answers 503 during an outage, recovers, and counts every fetch", async () => {
    const before = idp.jwksFetchCount();
    idp.setJwksAvailable(false);
    const down = await fetch(idp.jwksUri);
    expect(down.status).toBe(503);
    const remote = createRemoteJWKSet(new URL(idp.jwksUri));
    await expect(jwtVerify(await idp.mintToken({ sub: "evan.east" }), remote)).rejects.toThrow();
    idp.setJwksAvailable(true);
    const up = await fetch(idp.jwksUri);
    expect(up.status).toBe(200);
    expect(up.headers.get("content-type")).toContain("application/jwk-set+json");
    expect(idp.jwksFetchCount()).toBe(before + 3);
  });

  it("publishes only public key material", async () => {
    for (const key of (await jwks()).keys) {
      expect(Object.keys(key).sort()).toEqual(["alg", "e", "kid", "kty", "n", "use"]);
    }
  });
});

describe("quiet", () => {
  it("prints nothing to the console while starting and serving", () => {
    for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
  });
});
