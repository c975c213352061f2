import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../../emulator/workspace.js";
import type { App } from "../../../src/app.js";
import { signInThroughBroker, startBrokeredApp } from "../../support/broker.js";
import { MemoryOAuthProvider } from "../../support/oauth-client-provider.js";
import { textOf } from "../../support/results.js";

let workspace: LocalWorkspace;
let app: App;
let mcpUrl: string;
let base: string;

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
  ({ app, mcpUrl, base } = await startBrokeredApp(workspace));
});
afterAll(async () => {
  await app?.stop();
  await workspace?.close();
});

const WENDY = "wendy.west@example.com";

/** The whole flow with the MCP SDK's OAuth client: 401, discovery, registration, PKCE, the scripted sign-in. */
async function signedInClient(user: string): Promise<{ provider: MemoryOAuthProvider; client: Client }> {
  const provider = new MemoryOAuthProvider({
    clientName: "governed-mcp broker test",
    redirectUrl: "http://127.0.0.1:47998/oauth/callback",
  });
  const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  await expect(new Client({ name: "broker-test", version: "1.0.0" }).connect(first)).rejects.toBeInstanceOf(
    UnauthorizedError,
  );
  const back = await signInThroughBroker(provider.authorizationUrl!, user);
  expect(back.searchParams.get("iss")).toBe(base);
  await first.finishAuth(back.searchParams.get("code")!);
  const client = new Client({ name: "broker-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
  return { provider, client };
}

describe("the server brokers users' workspace sign-in", () => {
  it("an MCP client signs in through the server and calls tools as the user; it only ever holds the server's tokens", async () => {
    const { provider, client } = await signedInClient(WENDY);
    try {
      expect(provider.authorizationUrl!.origin).toBe(base);
      expect(provider.authorizationUrl!.searchParams.get("resource")).toBe(mcpUrl);
      const result = await client.callTool({ name: "check_identity", arguments: {} });
      expect(result.isError, textOf(result)).toBeFalsy();
      expect(result.structuredContent).toMatchObject({
        mode: "brokered",
        credential_source: "broker-store",
        human: WENDY,
        workspace_principal: WENDY,
      });
      const held = decodeJwt(provider.saved!.access_token);
      expect(held).toMatchObject({ iss: base, aud: mcpUrl, sub: WENDY });
      // Nothing the client holds is a workspace token.
      for (const token of [provider.saved!.access_token, provider.saved!.refresh_token!])
        expect((await me(token)).status).toBe(401);
    } finally {
      await client.close();
    }
  });

  it("signing out (revoking the server's refresh token) ends MCP access at the next call", async () => {
    const { provider, client } = await signedInClient("evan.east@example.com");
    try {
      expect((await client.callTool({ name: "check_identity", arguments: {} })).isError).toBeFalsy();
      const res = await fetch(`${base}/oauth/revoke`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: provider.saved!.refresh_token! }),
      });
      expect(res.status).toBe(200);
      await expect(client.callTool({ name: "check_identity", arguments: {} })).rejects.toThrow();
    } finally {
      await client.close().catch(() => undefined);
    }
  });

  it("the workspace revoking the user's sign-in ends MCP access at the next call", async () => {
    const { client } = await signedInClient("maria.manager@example.com");
    try {
      expect((await client.callTool({ name: "check_identity", arguments: {} })).isError).toBeFalsy();
      const connection = workspace.context.seed.workspace.appConnections[0]!;
      workspace.context.userGrants!.revoke("maria.manager@example.com", connection.clientId);
      const refused = await client.callTool({ name: "check_identity", arguments: { fresh: true } });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain("TOKEN_EXPIRED");
      await expect(client.callTool({ name: "check_identity", arguments: {} })).rejects.toThrow();
    } finally {
      await client.close().catch(() => undefined);
    }
  });
});

const me = (token: string) =>
  fetch(`${workspace.baseUrl}/api/2.0/preview/scim/v2/Me`, { headers: { authorization: `Bearer ${token}` } });
