import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError, type OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { textOf } from "../support/results.js";
import { CookieJarBrowser } from "../support/browser.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** A cookie jar that follows redirects by hand, the way a browser would, until one leaves the IdP. */
class Browser extends CookieJarBrowser {
  /** Follows redirects; returns the first URL off `origin` (the client's redirect) or the page where they stop. */
  async follow(start: Response, origin: string): Promise<{ url: URL; page?: Response }> {
    let res = start;
    let url: URL | undefined;
    for (let hops = 0; hops < 10; hops += 1) {
      if (res.status !== 302 && res.status !== 303) return { url: url!, page: res };
      url = new URL(res.headers.get("location")!, url ?? origin);
      if (url.origin !== origin) return { url };
      res = await this.request(url.href);
    }
    throw new Error("too many redirects");
  }
}

/** Logs a demo account in on the local IdP's login page and returns the authorization code sent to the client. */
async function signInAt(authorizationUrl: URL, account: string): Promise<string> {
  const browser = new Browser();
  const origin = authorizationUrl.origin;
  const { page } = await browser.follow(await browser.request(authorizationUrl.href), origin);
  expect(page!.status).toBe(200);
  const action = /action="([^"]+)"/.exec(await page!.text())![1]!;
  const posted = await browser.request(new URL(action, origin).href, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ account }),
  });
  const { url } = await browser.follow(posted, origin);
  expect(url.origin).not.toBe(origin);
  return url.searchParams.get("code")!;
}

/** An in-memory OAuthClientProvider, as an MCP client application would implement it. */
class MemoryOAuthProvider implements OAuthClientProvider {
  client?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier = "";
  authorizationUrl?: URL;
  readonly redirectUrl = "http://127.0.0.1:47999/oauth/callback";
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "governed-mcp oauth test",
      redirect_uris: [this.redirectUrl],
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

describe("an MCP client's own OAuth support against the local IdP", () => {
  it("discovers, registers, signs in with PKCE, gets a token, then calls tools as the Federation role", async () => {
    const provider = new MemoryOAuthProvider();
    const first = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: provider });
    const client = new Client({ name: "oauth-test", version: "1.0.0" });
    // No token yet: the 401 challenge sends the SDK through metadata discovery, registration and the redirect.
    await expect(client.connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(provider.client?.client_id).toBeTruthy();
    const authorizationUrl = provider.authorizationUrl!;
    expect(authorizationUrl.origin).toBe(stack.workspace.idp.issuer);
    expect(authorizationUrl.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorizationUrl.searchParams.get("resource")).toBe(stack.mcpUrl);

    const code = await signInAt(authorizationUrl, "erin.exec");
    await first.finishAuth(code);
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
