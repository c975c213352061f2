import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:net";
import type { LocalWorkspace } from "../../emulator/workspace.js";
import { startHttpApp, type HttpApp } from "./http-app.js";
import type { Clock } from "../../src/clock.js";
import { BrokerSchema } from "../../src/config/broker-schema.js";
import { SealedBox } from "../../src/identity/broker/sealed-box.js";
import { SealedRecords } from "../../src/identity/broker/sealed-records.js";
import { InProcessBrokerStore } from "../../src/identity/broker/token-store.js";
import { UserGrants } from "../../src/identity/broker/user-grants.js";

/** A free loopback port (the broker must know its public URL before it listens). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The configuration of a server on `port` that brokers sign-in through the seed's app connection. */
export function brokerOverrides(workspace: LocalWorkspace, port: number, extra: Record<string, unknown> = {}) {
  const connection = workspace.context.seed.workspace.appConnections[0]!;
  return {
    server: { port, publicUrl: `http://127.0.0.1:${port}` },
    identity: {
      broker: {
        clientId: connection.clientId,
        clientSecret: connection.clientSecret,
        tokenKey: randomBytes(32).toString("base64"),
        allowHttpClientMetadata: true,
        ...extra,
      },
    },
  };
}

/** The server brokering sign-in through the seed's app connection, on a free port; `base` is its public URL. */
export async function startBrokeredApp(workspace: LocalWorkspace): Promise<HttpApp & { base: string }> {
  const port = await freePort();
  const started = await startHttpApp(workspace, { overrides: brokerOverrides(workspace, port) });
  return { ...started, base: `http://127.0.0.1:${port}` };
}

/**
 * Follows the sign-in as a browser would: the server's /authorize sends the user to the workspace, where the demo
 * login picks `user`; the workspace sends them back to the server, which redirects to the client with its code.
 */
export async function signInThroughBroker(authorizationUrl: URL, user: string): Promise<URL> {
  let res = await fetch(authorizationUrl, { redirect: "manual" });
  let url = authorizationUrl;
  for (let hops = 0; hops < 6; hops += 1) {
    if (res.status !== 302) throw new Error(`sign-in stopped at ${url.pathname} with HTTP ${res.status}`);
    url = new URL(res.headers.get("location")!, url);
    if (url.pathname === "/oidc/v1/authorize") url.searchParams.set("user", user);
    if (!["/oidc/v1/authorize", "/oauth/databricks/callback", "/oauth/authorize"].includes(url.pathname)) return url;
    res = await fetch(url, { redirect: "manual" });
  }
  throw new Error("too many redirects");
}

/**
 * A client registers at the server `base`, signs `user` in through it with PKCE and redeems the code at `tokenBase`
 * (another replica, say); the server's tokens.
 */
export async function serverTokensFor(base: string, user: string, redirect: string, tokenBase = base) {
  const reg = await fetch(`${base}/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ redirect_uris: [redirect] }),
  });
  const { client_id } = (await reg.json()) as { client_id: string };
  const verifier = randomBytes(32).toString("base64url");
  const url = new URL(`${base}/oauth/authorize`);
  const query = {
    client_id,
    redirect_uri: redirect,
    response_type: "code",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
  };
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const code = (await signInThroughBroker(url, user)).searchParams.get("code")!;
  const res = await fetch(`${tokenBase}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      code_verifier: verifier,
      redirect_uri: redirect,
      client_id,
    }),
  });
  if (res.status !== 200) throw new Error(`the code exchange at ${tokenBase} answered HTTP ${res.status}`);
  return { clientId: client_id, ...((await res.json()) as { access_token: string; refresh_token: string }) };
}

/** A user's tokens from the seed's app connection, by the real authorization code + PKCE exchange at the workspace. */
export async function appConnectionSignIn(workspace: LocalWorkspace, user: string, redirectUri: string) {
  const connection = workspace.context.seed.workspace.appConnections[0]!;
  const verifier = randomBytes(32).toString("base64url");
  const url = new URL(`${workspace.baseUrl}/oidc/v1/authorize`);
  const query = {
    client_id: connection.clientId,
    redirect_uri: redirectUri,
    response_type: "code",
    scope: "all-apis offline_access",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    user,
  };
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const code = new URL((await fetch(url, { redirect: "manual" })).headers.get("location")!).searchParams.get("code")!;
  return { code, verifier, connection };
}

/** The seed's app connection as a broker with a fresh sealing key, its user grants sealed in an in-process store. */
export function brokerGrants(workspace: LocalWorkspace, clock: Clock) {
  const connection = workspace.context.seed.workspace.appConnections[0]!;
  const broker = BrokerSchema.parse({ ...connection, tokenKey: randomBytes(32).toString("base64") });
  const store = new InProcessBrokerStore(() => clock.now());
  const records = new SealedRecords(store, new SealedBox(broker.tokenKey));
  return { connection, broker, store, grants: new UserGrants(workspace.baseUrl, broker, records, clock, 60) };
}
