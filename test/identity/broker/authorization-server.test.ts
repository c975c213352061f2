import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../../emulator/workspace.js";
import type { App } from "../../../src/app.js";
import { ConfigError, loadConfig, merge } from "../../../src/config/load.js";
import { brokerOverrides, signInThroughBroker, startBrokeredApp } from "../../support/broker.js";
import { localConfigBase } from "../../support/local-config.js";
import { ClientMetadataServer } from "../../support/client-metadata-server.js";

let workspace: LocalWorkspace;
let app: App;
let mcpUrl: string;
let base: string;
let documents: ClientMetadataServer;

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
  ({ app, mcpUrl, base } = await startBrokeredApp(workspace));
  // Client ID metadata documents, served on loopback as a client's own web site would serve them.
  documents = await new ClientMetadataServer().start();
});
afterAll(async () => {
  await app?.stop();
  await workspace?.close();
  await documents?.close();
});

const REDIRECT = "http://127.0.0.1:47997/cb";
const s256 = (v: string) => createHash("sha256").update(v).digest("base64url");
const form = (body: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(body),
});

async function register(redirectUris = [REDIRECT]): Promise<string> {
  const res = await fetch(`${base}/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ redirect_uris: redirectUris, client_name: "t", token_endpoint_auth_method: "none" }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { client_id: string }).client_id;
}

function authorizeUrl(clientId: string, challenge: string, extra: Record<string, string> = {}): URL {
  const url = new URL(`${base}/oauth/authorize`);
  const query = {
    client_id: clientId,
    redirect_uri: REDIRECT,
    response_type: "code",
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: "st",
    resource: mcpUrl,
    ...extra,
  };
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url;
}

/** A client's code for `user`, with its verifier. */
async function codeFor(clientId: string, user = "wendy.west@example.com") {
  const verifier = randomBytes(32).toString("base64url");
  const back = await signInThroughBroker(authorizeUrl(clientId, s256(verifier)), user);
  expect(back.searchParams.get("state")).toBe("st");
  return { code: back.searchParams.get("code")!, verifier };
}

const token = async (body: Record<string, string>) => {
  const res = await fetch(`${base}/oauth/token`, form(body));
  return { status: res.status, body: (await res.json()) as Record<string, string> };
};

describe("the broker as the MCP clients' authorization server", () => {
  it("publishes RFC 8414 metadata naming itself, PKCE S256, registration and client ID metadata documents", async () => {
    const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(metadata).toMatchObject({
      issuer: base,
      code_challenge_methods_supported: ["S256"],
      registration_endpoint: `${base}/oauth/register`,
      client_id_metadata_document_supported: true,
    });
    const resource = (await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json()) as {
      authorization_servers: string[];
    };
    expect(resource.authorization_servers[0]).toBe(base);
  });

  it("refuses an unregistered redirect URI without redirecting, and another resource with invalid_target", async () => {
    const clientId = await register();
    const wrongRedirect = await fetch(authorizeUrl(clientId, "c", { redirect_uri: "https://evil.example.com/cb" }), {
      redirect: "manual",
    });
    expect(wrongRedirect.status).toBe(400);
    expect(wrongRedirect.headers.get("location")).toBeNull();
    const otherResource = await fetch(authorizeUrl(clientId, "c", { resource: "https://other.example.com/mcp" }), {
      redirect: "manual",
    });
    expect(new URL(otherResource.headers.get("location")!).searchParams.get("error")).toBe("invalid_target");
  });

  it("redeems a code once, only with its PKCE verifier", async () => {
    const clientId = await register();
    const { code } = await codeFor(clientId);
    const redeem = { grant_type: "authorization_code", code, redirect_uri: REDIRECT, client_id: clientId };
    expect((await token({ ...redeem, code_verifier: "wrong" })).body.error).toBe("invalid_grant");
    const second = await codeFor(clientId);
    const ok = await token({ ...redeem, code: second.code, code_verifier: second.verifier, resource: mcpUrl });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ token_type: "Bearer", expires_in: 600 });
    expect((await token({ ...redeem, code: second.code, code_verifier: second.verifier })).body.error).toBe(
      "invalid_grant",
    );
  });

  it("rotates refresh tokens: the new one works once, the old one never again", async () => {
    const clientId = await register();
    const { code, verifier } = await codeFor(clientId);
    const first = await token({
      grant_type: "authorization_code",
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT,
      client_id: clientId,
    });
    const refresh = (refresh_token: string) =>
      token({ grant_type: "refresh_token", refresh_token, client_id: clientId });
    const second = await refresh(first.body.refresh_token!);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    expect((await refresh(first.body.refresh_token!)).body.error).toBe("invalid_grant");
    expect((await refresh(second.body.refresh_token!)).status).toBe(200);
  });

  it("accepts a client named by its metadata document URL, and refuses a document that names another client", async () => {
    const own = `${documents.origin}/clients/good.json`;
    documents.serve("/clients/good.json", {
      body: { client_id: own, redirect_uris: [REDIRECT], client_name: "doc client" },
    });
    const { code, verifier } = await codeFor(own);
    const answer = await token({
      grant_type: "authorization_code",
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT,
      client_id: own,
    });
    expect(answer.status).toBe(200);
    const borrowed = `${documents.origin}/clients/borrowed.json`;
    documents.serve("/clients/borrowed.json", { body: { client_id: own, redirect_uris: [REDIRECT] } });
    expect((await fetch(authorizeUrl(borrowed, "c"), { redirect: "manual" })).status).toBe(400);
  });

  it("needs the server's public address, and says which variable to set", () => {
    const raw = merge(localConfigBase(workspace), brokerOverrides(workspace, 1234));
    expect(() => loadConfig({}, merge(raw, { server: { publicUrl: undefined } }))).toThrow(ConfigError);
    expect(() => loadConfig({}, merge(raw, { server: { publicUrl: undefined } }))).toThrow(/MCP_PUBLIC_URL/);
    expect(() => loadConfig({}, merge(raw, { identity: { broker: { tokenKey: "short" } } }))).toThrow(
      /MCP_BROKER_TOKEN_KEY must be 32 random bytes/,
    );
  });
});
