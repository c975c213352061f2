import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { decodeJwt } from "jose";
import { Seed } from "../../emulator/seed/schema.js";
import { startLocalIdp, type LocalIdp } from "../../emulator/idp/provider.js";
import { isPrivateOrLoopbackHost } from "../../emulator/idp/client-metadata-documents.js";
import { ClientMetadataServer } from "../support/client-metadata-server.js";
import { authorizeAtIdp, signInForTokens } from "../support/idp-authorization.js";

const seed = Seed.parse(
  JSON.parse(readFileSync(new URL("../../emulator/seed/default-seed.json", import.meta.url), "utf8")),
);
const REDIRECT_URI = "http://127.0.0.1:47222/oauth/callback";
const RESOURCE = "http://127.0.0.1:47223/mcp";

let idp: LocalIdp;
let documents: ClientMetadataServer;
const consoleSpies: Array<ReturnType<typeof vi.spyOn>> = [];

beforeAll(async () => {
  for (const method of ["info", "warn"] as const) consoleSpies.push(vi.spyOn(console, method));
  documents = await new ClientMetadataServer().start();
  idp = await startLocalIdp({
    host: "127.0.0.1",
    port: 0,
    seed,
    clientMetadataDocuments: { testOnlyDocumentOrigin: documents.origin },
  });
  idp.registerResource(RESOURCE);
});

afterAll(async () => {
  await idp?.close();
  await documents?.close();
  for (const spy of consoleSpies) spy.mockRestore();
});

/** A client_id under the reserved .test domain, whose document the loopback document server holds at `path`. */
function clientAt(path: string, document: (clientId: string) => unknown = validDocument): string {
  const clientId = `https://app.client.test${path}`;
  documents.serve(path, { body: document(clientId), headers: { "cache-control": "max-age=300" } });
  return clientId;
}

function validDocument(clientId: string): Record<string, unknown> {
  return {
    client_id: clientId,
    client_name: "Example MCP client",
    redirect_uris: [REDIRECT_URI],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
    application_type: "native",
  };
}

/** Starts a sign-in as `clientId`; an IdP that refuses the client shows an error page instead of the login form. */
async function refusalPage(clientId: string, redirectUri = REDIRECT_URI): Promise<string> {
  const outcome = await authorizeAtIdp(idp.issuer, { clientId, redirectUri, account: "erin.exec" });
  expect(outcome.code).toBeUndefined();
  expect(outcome.page?.status).toBe(400);
  return outcome.page!.text;
}

describe("Client ID Metadata Documents at the local IdP", () => {
  it("advertises client_id_metadata_document_supported and the public-client method none", async () => {
    for (const path of ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]) {
      const doc = (await (await fetch(`${idp.issuer}${path}`)).json()) as Record<string, unknown>;
      expect(doc.client_id_metadata_document_supported).toBe(true);
      expect(doc.token_endpoint_auth_methods_supported).toContain("none");
    }
  });

  it("signs a person in for a client known only by its document URL; the token names that client", async () => {
    const clientId = clientAt("/oauth/good.json");
    const { status, body } = await signInForTokens(idp.issuer, {
      clientId,
      redirectUri: REDIRECT_URI,
      account: "erin.exec",
      resource: RESOURCE,
    });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(decodeJwt(body.access_token as string)).toMatchObject({ client_id: clientId, aud: RESOURCE });
    expect(documents.requestsTo("/oauth/good.json")).toBe(1);
  });

  it("accepts an https redirect URI on the client's own origin", async () => {
    const clientId = clientAt("/oauth/web.json", (id) => ({
      ...validDocument(id),
      application_type: "web",
      redirect_uris: ["https://app.client.test/oauth/callback"],
    }));
    const outcome = await authorizeAtIdp(idp.issuer, {
      clientId,
      redirectUri: "https://app.client.test/oauth/callback",
      account: "erin.exec",
    });
    expect(outcome.page?.text).toBeUndefined();
    expect(outcome.code).toBeTruthy();
  });

  it.each([
    [
      "a client_id in the document that differs from its URL",
      (id: string) => ({ ...validDocument(id), client_id: `${id}x` }),
    ],
    ["a document without client_name", (id: string) => ({ ...validDocument(id), client_name: undefined })],
    ["a document without redirect_uris", (id: string) => ({ ...validDocument(id), redirect_uris: [] })],
    ["a document with a client_secret", (id: string) => ({ ...validDocument(id), client_secret: "s3cret" })],
    [
      "an https redirect URI on another origin",
      (id: string) => ({ ...validDocument(id), application_type: "web", redirect_uris: ["https://evil.example/cb"] }),
    ],
  ])("refuses %s", async (name, document) => {
    const path = `/oauth/${name.replace(/\W+/g, "-")}.json`;
    const text = await refusalPage(clientAt(path, document));
    expect(text).toMatch(/invalid_client|invalid_redirect_uri/);
    expect(text).not.toContain("s3cret");
  });

  it("refuses a document that answers with a redirect (no redirects are followed)", async () => {
    documents.serve("/oauth/moved.json", { status: 302, headers: { location: "/oauth/good.json" }, body: "" });
    await refusalPage("https://app.client.test/oauth/moved.json");
    expect(documents.requestsTo("/oauth/good.json")).toBe(1);
  });

  it("refuses a document larger than 5 KiB", async () => {
    const clientId = clientAt("/oauth/large.json", (id) => ({ ...validDocument(id), padding: "x".repeat(6000) }));
    await refusalPage(clientId);
  });

  it("refuses a redirect_uri the document does not list", async () => {
    const clientId = clientAt("/oauth/strict.json");
    const outcome = await authorizeAtIdp(idp.issuer, {
      clientId,
      redirectUri: "http://127.0.0.1:47222/elsewhere",
      account: "erin.exec",
    });
    expect(outcome.code).toBeUndefined();
    expect(outcome.page?.status).toBe(400);
    expect(outcome.page?.text).toContain("redirect_uri");
  });

  it("never fetches an http: client_id, nor one on a loopback or private address, even with the test allowance on", async () => {
    expect(await refusalPage("http://app.client.test/oauth/good.json")).toContain("invalid_client");
    // Refused before any connection is attempted (oidc-provider's socket check would refuse the connection too).
    for (const clientId of [
      "https://127.0.0.1/oauth/good.json",
      "https://localhost/oauth/good.json",
      "https://10.1.2.3/oauth/good.json",
      "https://[::1]/oauth/good.json",
    ])
      expect(await refusalPage(clientId)).toContain("metadata document fetch not allowed");
    expect(documents.requestsTo("/oauth/good.json")).toBe(1);
  });
});

describe("the test-only document allowance", () => {
  it("cannot point anywhere but a loopback http origin", async () => {
    for (const origin of ["https://docs.example.com", "http://10.0.0.5:8080", "http://127.0.0.1:80/path"])
      await expect(
        startLocalIdp({
          host: "127.0.0.1",
          port: 0,
          seed,
          clientMetadataDocuments: { testOnlyDocumentOrigin: origin },
        }),
      ).rejects.toThrow(/loopback http origin/);
  });

  it("classifies loopback, private and link-local hosts as never public", () => {
    for (const host of [
      "localhost",
      "a.localhost",
      "127.0.0.1",
      "10.0.0.1",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.1.1",
      "[::1]",
      "[fd00::1]",
      "[fe80::1]",
      "[::ffff:127.0.0.1]",
    ])
      expect(isPrivateOrLoopbackHost(host), host).toBe(true);
    for (const host of ["claude.ai", "vscode.dev", "8.8.8.8", "172.32.0.1", "[2001:4860::1]"])
      expect(isPrivateOrLoopbackHost(host), host).toBe(false);
  });
});
