import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  UnauthorizedError,
  discoverAuthorizationServerMetadata,
  refreshAuthorization,
} from "@modelcontextprotocol/sdk/client/auth.js";
import * as v2 from "@modelcontextprotocol/client";
import { startTestStack, type TestStack } from "../support/server.js";
import { ClientMetadataServer } from "../support/client-metadata-server.js";
import { signInAt } from "../support/idp-authorization.js";
import { textOf } from "../support/results.js";
import { MemoryOAuthProvider } from "../support/oauth-client-provider.js";

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

/** A client that identifies itself by a metadata-document URL instead of registering. */
const metadataDocumentClient = () =>
  new MemoryOAuthProvider({
    clientName: "Metadata-document MCP client",
    redirectUrl: REDIRECT_URL,
    clientMetadataUrl: CLIENT_ID,
  });

/** The two SDKs a client application may be built on: v1 (@modelcontextprotocol/sdk) and the v2 client package. */
const SDKS = {
  "the v1 SDK (@modelcontextprotocol/sdk)": {
    connect: (provider: MemoryOAuthProvider) => {
      const transport = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: provider });
      return {
        connecting: new Client({ name: "cimd-v1", version: "1.0.0" }).connect(transport),
        finishAuth: (code: string) => transport.finishAuth(code),
      };
    },
    Unauthorized: UnauthorizedError,
    listAndCall: (provider: MemoryOAuthProvider) =>
      listAndCall(
        new Client({ name: "cimd-v1", version: "1.0.0" }),
        new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: provider }),
      ),
    refresh: refreshAuthorization,
    discover: discoverAuthorizationServerMetadata,
  },
  "the v2 client (@modelcontextprotocol/client)": {
    connect: (provider: MemoryOAuthProvider) => {
      const transport = new v2.StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: provider });
      return {
        connecting: new v2.Client({ name: "cimd-v2", version: "1.0.0" }).connect(transport),
        // v2 checks the callback's issuer (RFC 9207) before redeeming the code.
        finishAuth: (code: string, iss?: string) => transport.finishAuth(code, iss),
      };
    },
    Unauthorized: v2.UnauthorizedError,
    listAndCall: (provider: MemoryOAuthProvider) =>
      listAndCall(
        new v2.Client({ name: "cimd-v2", version: "1.0.0" }),
        new v2.StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: provider }),
      ),
    refresh: v2.refreshAuthorization,
    discover: v2.discoverAuthorizationServerMetadata,
  },
};

/** What both SDKs' clients offer: connect, list, call, close. */
interface McpClient {
  connect(transport: never): Promise<void>;
  listTools(): Promise<{ tools: { name: string }[] }>;
  callTool(request: { name: string; arguments: Record<string, unknown> }): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

async function listAndCall(client: McpClient, transport: unknown): Promise<void> {
  await client.connect(transport as never);
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
  it.each(Object.keys(SDKS))(
    "%s signs in without registering, gets a token for this server, lists and calls tools, then refreshes",
    async (name) => {
      const sdk = SDKS[name as keyof typeof SDKS];
      const provider = metadataDocumentClient();
      const { connecting, finishAuth } = sdk.connect(provider);
      await expect(connecting).rejects.toBeInstanceOf(sdk.Unauthorized);
      // The IdP advertised metadata documents, so the SDK used the URL as its client_id instead of registering.
      expect(provider.client?.client_id).toBe(CLIENT_ID);
      const authorizationUrl = provider.authorizationUrl!;
      expect(authorizationUrl.searchParams.get("client_id")).toBe(CLIENT_ID);
      expect(authorizationUrl.searchParams.get("resource")).toBe(stack.mcpUrl);
      expect(authorizationUrl.searchParams.get("scope")).toContain("offline_access");

      const { code, iss } = await signInAt(authorizationUrl, "erin.exec");
      expect(code).toBeTruthy();
      await finishAuth(code!, iss);
      const signedIn = provider.saved!;
      expect(decodeJwt(signedIn.access_token)).toMatchObject({ aud: stack.mcpUrl, client_id: CLIENT_ID });
      expect(signedIn.refresh_token).toBeTruthy();
      expect(documents.requestsTo(DOCUMENT_PATH)).toBeGreaterThanOrEqual(1);

      await sdk.listAndCall(provider);

      // An hour later the client refreshes instead of sending the person through sign-in again.
      const issuer = stack.workspace.idp.issuer;
      const refreshed = await sdk.refresh(issuer, {
        metadata: await sdk.discover(issuer),
        clientInformation: provider.client!,
        refreshToken: signedIn.refresh_token!,
        resource: new URL(stack.mcpUrl),
      });
      expect(refreshed.refresh_token).toBeTruthy();
      expect(refreshed.refresh_token).not.toBe(signedIn.refresh_token);
      expect(decodeJwt(refreshed.access_token).aud).toBe(stack.mcpUrl);
      provider.saveTokens(refreshed);
      await sdk.listAndCall(provider);
    },
  );
});
