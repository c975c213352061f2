import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  UnauthorizedError,
  discoverAuthorizationServerMetadata,
  refreshAuthorization,
  type OAuthClientProvider,
} from "@modelcontextprotocol/sdk/client/auth.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { ClientMetadataServer } from "../support/client-metadata-server.js";
import { signInAt } from "../support/idp-authorization.js";
import { textOf } from "../support/results.js";

const DOCUMENT_PATH = "/oauth/mcp-client-metadata.json";
/** A client_id under the reserved .test domain; its document is served from loopback (ClientMetadataServer). */
const CLIENT_ID = `https://agent.client.test${DOCUMENT_PATH}`;
const REDIRECT_URL = "http://127.0.0.1:47444/oauth/callback";

let stack: TestStack;
let documents: ClientMetadataServer;
beforeAll(async () => {
  documents = await new ClientMetadataServer().start();
  documents.serve(DOCUMENT_PATH, {
    body: {
      client_id: CLIENT_ID,
      client_name: "Metadata-document MCP client",
      redirect_uris: [REDIRECT_URL],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      application_type: "native",
    },
  });
  stack = await startTestStack({ clientMetadataDocumentOrigin: documents.origin });
});
afterAll(async () => {
  await stack?.stop();
  await documents?.close();
});

/** An OAuthClientProvider that identifies itself by a metadata-document URL instead of registering. */
class MetadataDocumentClient implements OAuthClientProvider {
  client?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier = "";
  authorizationUrl?: URL;
  readonly redirectUrl = REDIRECT_URL;
  readonly clientMetadataUrl = CLIENT_ID;
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "Metadata-document MCP client",
      redirect_uris: [REDIRECT_URL],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

async function listAndCall(provider: MetadataDocumentClient): Promise<void> {
  const client = new Client({ name: "cimd-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: provider }));
  try {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("ask_supervisor");
    const result = await client.callTool({ name: "check_identity", arguments: {} });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ mode: "federation", human: "erin.exec", role: "executive" });
  } finally {
    await client.close();
  }
}

describe("an MCP SDK client with a Client ID Metadata Document, through the OAuth flow against the local IdP", () => {
  it("signs in without registering, gets a token for this server, lists and calls tools, then refreshes", async () => {
    const provider = new MetadataDocumentClient();
    const first = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: provider });
    await expect(new Client({ name: "cimd-test", version: "1.0.0" }).connect(first)).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
    // The IdP advertised metadata documents, so the SDK used the URL as its client_id instead of registering.
    expect(provider.client?.client_id).toBe(CLIENT_ID);
    const authorizationUrl = provider.authorizationUrl!;
    expect(authorizationUrl.searchParams.get("client_id")).toBe(CLIENT_ID);
    expect(authorizationUrl.searchParams.get("resource")).toBe(stack.mcpUrl);
    expect(authorizationUrl.searchParams.get("scope")).toContain("offline_access");

    const { code } = await signInAt(authorizationUrl, "erin.exec");
    expect(code).toBeTruthy();
    await first.finishAuth(code!);
    const signedIn = provider.saved!;
    expect(decodeJwt(signedIn.access_token)).toMatchObject({ aud: stack.mcpUrl, client_id: CLIENT_ID });
    expect(signedIn.refresh_token).toBeTruthy();
    expect(documents.requestsTo(DOCUMENT_PATH)).toBeGreaterThanOrEqual(1);

    await listAndCall(provider);

    // An hour later the client refreshes instead of sending the person through sign-in again.
    const issuer = stack.workspace.idp.issuer;
    const refreshed = await refreshAuthorization(issuer, {
      metadata: await discoverAuthorizationServerMetadata(issuer),
      clientInformation: provider.client!,
      refreshToken: signedIn.refresh_token!,
      resource: new URL(stack.mcpUrl),
    });
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(signedIn.refresh_token);
    expect(decodeJwt(refreshed.access_token).aud).toBe(stack.mcpUrl);
    provider.saveTokens(refreshed);
    await listAndCall(provider);
  });
});
