import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { textOf } from "../support/results.js";
import { signInAt } from "../support/idp-authorization.js";
import { MemoryOAuthProvider } from "../support/oauth-client-provider.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe("an MCP client's own OAuth support against the local IdP", () => {
  it("discovers, registers, signs in with PKCE, gets a token, then calls tools as the Federation role", async () => {
    const provider = new MemoryOAuthProvider({
      clientName: "governed-mcp oauth test",
      redirectUrl: "http://127.0.0.1:47999/oauth/callback",
    });
    const first = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: provider });
    const client = new Client({ name: "oauth-test", version: "1.0.0" });
    // No token yet: the 401 challenge sends the SDK through metadata discovery, registration and the redirect.
    await expect(client.connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(provider.client?.client_id).toBeTruthy();
    const authorizationUrl = provider.authorizationUrl!;
    expect(authorizationUrl.origin).toBe(stack.workspace.idp.issuer);
    expect(authorizationUrl.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorizationUrl.searchParams.get("resource")).toBe(stack.mcpUrl);

    const { code } = await signInAt(authorizationUrl, "erin.exec");
    expect(code).toBeTruthy();
    await first.finishAuth(code!);
    expect(provider.saved?.access_token).toBeTruthy();

    const authed = new Client({ name: "oauth-test", version: "1.0.0" });
    await authed.connect(new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: provider }));
    try {
      const { tools } = await authed.listTools();
      expect(tools.map((t) => t.name)).toContain("ask_supervisor");
      const result = await authed.callTool({ name: "check_identity", arguments: {} });
      expect(result.isError, textOf(result)).toBeFalsy();
      const executiveSp = stack.workspace.context.seed.servicePrincipals.find(
        (sp) => sp.displayName === "fed-exchange-sp-executive",
      )!;
      expect(result.structuredContent).toMatchObject({
        mode: "federation",
        human: "erin.exec",
        role: "executive",
        workspace_principal: executiveSp.applicationId,
      });
    } finally {
      await authed.close();
    }
  });
});
