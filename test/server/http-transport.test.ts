import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { federationBearer } from "../support/mcp-clients.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};

function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(stack.mcpUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("MCP authorization over HTTP (RFC 9728)", () => {
  it("answers a request without credentials with 401 and a resource_metadata challenge", async () => {
    const res = await post(initialize);
    expect(res.status).toBe(401);
    const challenge = res.headers.get("www-authenticate") ?? "";
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain(`resource_metadata="${stack.app.http!.url}/.well-known/oauth-protected-resource/mcp"`);
  });

  it("serves protected resource metadata naming the IdP and the workspace as authorization servers", async () => {
    const res = await fetch(`${stack.app.http!.url}/.well-known/oauth-protected-resource/mcp`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      resource: string;
      authorization_servers: string[];
      scopes_supported: string[];
    };
    expect(body.resource).toBe(stack.mcpUrl);
    expect(body.authorization_servers).toContain(stack.workspace.idp.issuer);
    expect(body.authorization_servers).toContain(`${stack.workspace.baseUrl}/oidc`);
    expect(body.scopes_supported).toContain("sql");
  });

  it("answers an expired Federation token with 401 invalid_token", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "wendy.west", role: "west_sales", ttlSeconds: -600 });
    const res = await post(initialize, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(await res.text()).not.toContain(token);
  });

  it("refuses x-forwarded-access-token when proxy trust is off", async () => {
    const res = await post(initialize, { "x-forwarded-access-token": "eyJhbGciOiJub25lIn0.e30." });
    expect(res.status).toBe(401);
  });
});

describe("transport guards", () => {
  it("refuses a foreign Host header (DNS rebinding)", async () => {
    const { request } = await import("node:http");
    const url = new URL(stack.mcpUrl);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: "POST",
          headers: { host: "evil.example.com", "content-type": "application/json" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify(initialize));
    });
    expect(status).toBe(403);
  });

  it("refuses a foreign Origin", async () => {
    const res = await post(initialize, {
      origin: "https://evil.example.com",
      ...(await federationBearer(stack.workspace, "admin")),
    });
    expect(res.status).toBe(403);
  });

  it("rejects an unsupported MCP-Protocol-Version with 400", async () => {
    const res = await post(initialize, {
      "mcp-protocol-version": "1999-01-01",
      ...(await federationBearer(stack.workspace, "admin")),
    });
    expect(res.status).toBe(400);
  });

  it("answers malformed JSON with a JSON-RPC parse error", async () => {
    const res = await post("{not json", await federationBearer(stack.workspace, "admin"));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: number } };
    expect(body.error.code).toBe(-32700);
  });

  it("caps the body size", async () => {
    const res = await post(
      { ...initialize, pad: "x".repeat(2 * 1024 * 1024) },
      await federationBearer(stack.workspace, "admin"),
    );
    expect(res.status).toBe(413);
  });

  it("serves /healthz and /readyz", async () => {
    expect((await fetch(`${stack.app.http!.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${stack.app.http!.url}/readyz`);
    expect(ready.status).toBe(200);
  });
});
