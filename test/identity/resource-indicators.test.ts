import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { startTestStack, type TestStack } from "../support/server.js";
import { rpc } from "../support/json-rpc.js";
import { authorizeAtIdp, signInForTokens } from "../support/idp-authorization.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const CLIENT = { clientId: "mcp-inspector", redirectUri: "http://127.0.0.1:47111/callback" };
const listTools = { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} };
const headers = (token: string) => ({ authorization: `Bearer ${token}`, "mcp-protocol-version": "2025-11-25" });

async function tokenFor(resource: string, account = "erin.exec"): Promise<string> {
  const { status, body } = await signInForTokens(stack.workspace.idp.issuer, { ...CLIENT, account, resource });
  expect(status, JSON.stringify(body)).toBe(200);
  return body.access_token as string;
}

describe("RFC 8707 resource indicators between the local IdP and this server", () => {
  it("refuses resource=http://evil.example/mcp at the IdP with invalid_target: no token for an unknown resource", async () => {
    const outcome = await authorizeAtIdp(stack.workspace.idp.issuer, {
      ...CLIENT,
      account: "erin.exec",
      resource: "http://evil.example/mcp",
    });
    expect(outcome.code).toBeUndefined();
    expect(outcome.error).toBe("invalid_target");
  });

  it("issues a token whose audience is this server's resource, and the server serves it", async () => {
    const token = await tokenFor(stack.mcpUrl);
    expect(decodeJwt(token).aud).toBe(stack.mcpUrl);
    const answer = await rpc(stack.mcpUrl, listTools, headers(token));
    expect(answer.status, answer.text).toBe(200);
    const tools = (answer.messages[0]!.result as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(tools).toContain("ask_supervisor");
    // The workspace's federation policy trusts the same audience, so the token exchange behind a call succeeds.
    const call = { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "check_identity", arguments: {} } };
    const called = await rpc(stack.mcpUrl, call, headers(token));
    const result = called.messages[0]!.result as { isError?: boolean; structuredContent?: Record<string, unknown> };
    expect(result.isError, called.text).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ mode: "federation", human: "erin.exec", role: "executive" });
  });

  it("also serves a token for its origin, the resource its root metadata names", async () => {
    const origin = stack.app.http!.url;
    const token = await tokenFor(origin);
    expect(decodeJwt(token).aud).toBe(origin);
    expect((await rpc(stack.mcpUrl, listTools, headers(token))).status).toBe(200);
  });

  it("answers 401 invalid_token to a token the IdP issued for another resource server it knows", async () => {
    const other = "https://other-mcp.example/mcp";
    stack.workspace.idp.registerResource(other);
    const token = await tokenFor(other);
    expect(decodeJwt(token).aud).toBe(other);
    const answer = await rpc(stack.mcpUrl, listTools, headers(token));
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(answer.text).not.toContain(token);
  });
});

describe("protected resource metadata (RFC 9728)", () => {
  const metadataAt = async (path: string) =>
    (await (await fetch(`${stack.app.http!.url}${path}`)).json()) as {
      resource: string;
      authorization_servers: string[];
      scopes_supported: string[];
    };

  it("names the server's root as the resource at the root and the MCP endpoint at the path", async () => {
    expect((await metadataAt("/.well-known/oauth-protected-resource")).resource).toBe(stack.app.http!.url);
    expect((await metadataAt("/.well-known/oauth-protected-resource/mcp")).resource).toBe(stack.mcpUrl);
  });

  it("lists only scopes that its authorization servers advertise, the IdP's sign-in scopes among them", async () => {
    const metadata = await metadataAt("/.well-known/oauth-protected-resource/mcp");
    const offered = new Set<string>();
    for (const server of metadata.authorization_servers) {
      // RFC 8414 metadata under the issuer's own path: where the IdP and the Databricks workspace both serve it.
      const doc = (await (await fetch(`${server}/.well-known/oauth-authorization-server`)).json()) as {
        scopes_supported?: string[];
      };
      for (const scope of doc.scopes_supported ?? []) offered.add(scope);
    }
    for (const scope of metadata.scopes_supported) expect(offered, scope).toContain(scope);
    // A client that takes scopes_supported to the first authorization server (the IdP) finds what it signs in with.
    expect(metadata.authorization_servers[0]).toBe(stack.workspace.idp.issuer);
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(["openid", "offline_access"]));
  });
});
