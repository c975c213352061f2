import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { roleServicePrincipal } from "../support/federation-seed.js";
import { startHttpApp } from "../support/http-app.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp, federationBearer, oboBearer, seedUserOfRole } from "../support/mcp-clients.js";
import { textOf } from "../support/results.js";
import { waitForAudit } from "../support/audit-table.js";

let stack: TestStack;
/** A second server on the same workspace: anonymous M2M on, proxy header trusted, west_sales mapped to a wrong SP. */
let lenient: App;
let lenientUrl: string;

const spOf = (role: string) => roleServicePrincipal(stack.workspace, role);
const serverSp = () =>
  stack.workspace.context.seed.servicePrincipals.find((sp) => sp.displayName === "mcp-server-sp")!.applicationId;

beforeAll(async () => {
  stack = await startTestStack();
  ({ app: lenient, mcpUrl: lenientUrl } = await startHttpApp(stack.workspace, {
    overrides: {
      identity: {
        m2m: { allowHttpCallers: true },
        obo: { trustProxyHeader: true },
        federation: { roleToServicePrincipal: { west_sales: spOf("east_sales") } },
      },
    },
  }));
});
afterAll(async () => {
  await lenient?.stop();
  await stack?.stop();
});

async function checkIdentity(url: string, headers: Record<string, string>) {
  const client = await connectHttp(url, headers);
  try {
    return await client.callTool({ name: "check_identity", arguments: {} });
  } finally {
    await client.close();
  }
}

function identityOf(result: Awaited<ReturnType<typeof checkIdentity>>) {
  expect(result.isError, textOf(result)).toBeFalsy();
  return result.structuredContent as Record<string, unknown>;
}

const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};
const callCheckIdentity = {
  jsonrpc: "2.0",
  id: 7,
  method: "tools/call",
  params: { name: "check_identity", arguments: {} },
};

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-06-18",
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

describe("check_identity over HTTP reports the workspace's current_user() for each mode", () => {
  it("OBO: the human's email, from a workspace bearer", async () => {
    const identity = identityOf(
      await checkIdentity(stack.mcpUrl, await oboBearer(stack.workspace, "olivia.obo@example.com")),
    );
    expect(identity).toMatchObject({
      mode: "obo",
      credential_source: "bearer",
      human: "olivia.obo@example.com",
      workspace_principal: "olivia.obo@example.com",
    });
  });

  it("Federation: the role's service principal, with the human's IdP subject beside it", async () => {
    const identity = identityOf(
      await checkIdentity(stack.mcpUrl, await federationBearer(stack.workspace, "executive")),
    );
    expect(identity).toMatchObject({
      mode: "federation",
      credential_source: "exchange",
      human: seedUserOfRole(stack.workspace, "executive").idpSubject,
      role: "executive",
      workspace_principal: spOf("executive"),
    });
  });

  it("M2M, only when anonymous callers are enabled: the server's service principal application id", async () => {
    const identity = identityOf(await checkIdentity(lenientUrl, {}));
    expect(identity).toMatchObject({
      mode: "m2m",
      credential_source: "client-credentials",
      human: null,
      workspace_principal: serverSp(),
    });
  });
});

/** A refusal at the door names its error code and the request id of its audit row (never a client-chosen one). */
async function refusalRequestId(res: Response, code: string): Promise<string> {
  const body = (await res.json()) as { error: { message: string; data: { error_code: string; request_id: string } } };
  expect(body.error.message).toContain(code);
  expect(body.error.data.error_code).toBe(code);
  return body.error.data.request_id;
}

describe("the Databricks Apps proxy header", () => {
  it("is refused when proxy trust is off, with a 401 challenge, and audited", async () => {
    const authorization = (await oboBearer(stack.workspace, "olivia.obo@example.com")).authorization!;
    const res = await post(stack.mcpUrl, callCheckIdentity, {
      "x-forwarded-access-token": authorization.slice("Bearer ".length),
    });
    expect(res.status).toBe(401);
    const requestId = await refusalRequestId(res, "PROXY_HEADER_UNTRUSTED");
    const rows = await waitForAudit(stack.workspace, (r) => r.some((row) => row.request_id === requestId));
    expect(rows.find((row) => row.request_id === requestId)).toMatchObject({
      outcome: "denied",
      error_code: "PROXY_HEADER_UNTRUSTED",
      tool: "check_identity",
    });
  });

  it("is accepted as OBO (source proxy-header) when trust is on", async () => {
    const authorization = (await oboBearer(stack.workspace, "maria.manager@example.com")).authorization!;
    const identity = identityOf(
      await checkIdentity(lenientUrl, { "x-forwarded-access-token": authorization.slice("Bearer ".length) }),
    );
    expect(identity).toMatchObject({
      mode: "obo",
      credential_source: "proxy-header",
      workspace_principal: "maria.manager@example.com",
    });
  });
});

describe("MCP authorization challenges", () => {
  const metadata = () => `resource_metadata="${stack.app.http!.url}/.well-known/oauth-protected-resource/mcp"`;

  it("answers no credential with 401 and a resource_metadata challenge, without an error code", async () => {
    const res = await post(stack.mcpUrl, initialize);
    expect(res.status).toBe(401);
    const challenge = res.headers.get("www-authenticate") ?? "";
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain(metadata());
    expect(challenge).not.toContain("error=");
    // The first authorization server is the IdP: the challenge names scopes it knows, not the workspace's.
    expect(challenge).toContain('scope="openid offline_access"');
  });

  it("answers an expired token with 401 invalid_token", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "wendy.west", role: "west_sales", ttlSeconds: -600 });
    const res = await post(stack.mcpUrl, initialize, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(res.headers.get("www-authenticate")).toContain(metadata());
    expect(await res.text()).not.toContain(token);
  });

  it("answers a token for another audience with 401 invalid_token", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "wendy.west", role: "west_sales", aud: "some-other-api" });
    const res = await post(stack.mcpUrl, initialize, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("answers a token of an untrusted issuer with 401 invalid_token", async () => {
    const token = await stack.workspace.idp.mintToken({
      sub: "wendy.west",
      role: "admin",
      iss: "https://evil.example.com",
    });
    const res = await post(stack.mcpUrl, initialize, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("answers a valid OBO token lacking the tool's scope with 403 insufficient_scope naming the scope, audited", async () => {
    const headers = await oboBearer(stack.workspace, "olivia.obo@example.com", ["dashboards.genie"]);
    const init = await post(stack.mcpUrl, initialize, headers);
    expect(init.status).toBe(200);
    const res = await post(stack.mcpUrl, callCheckIdentity, headers);
    expect(res.status).toBe(403);
    const challenge = res.headers.get("www-authenticate") ?? "";
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="sql"');
    expect(challenge).toContain(metadata());
    const requestId = await refusalRequestId(res, "SCOPE_MISSING");
    const rows = await waitForAudit(stack.workspace, (r) => r.some((row) => row.request_id === requestId));
    expect(rows.find((row) => row.request_id === requestId)).toMatchObject({
      outcome: "denied",
      error_code: "SCOPE_MISSING",
      mode: "obo",
      human: "olivia.obo@example.com",
      tool: "check_identity",
    });
  });

  it("refuses an unknown role with 403 before any token exchange, audited", async () => {
    const before = stack.workspace.counters.tokenRequestTotal("token_exchange");
    const token = await stack.workspace.idp.mintToken({ sub: "mallory", role: "interns" });
    const res = await post(stack.mcpUrl, callCheckIdentity, {
      authorization: `Bearer ${token}`,
    });
    expect(res.status).toBe(403);
    const requestId = await refusalRequestId(res, "ROLE_UNMAPPED");
    expect(stack.workspace.counters.tokenRequestTotal("token_exchange")).toBe(before);
    const rows = await waitForAudit(stack.workspace, (r) => r.some((row) => row.request_id === requestId));
    expect(rows.find((row) => row.request_id === requestId)).toMatchObject({
      outcome: "denied",
      error_code: "ROLE_UNMAPPED",
    });
  });
});

describe("fail closed", () => {
  it("a refused exchange is an error and never runs as the server's M2M identity, even with anonymous M2M on", async () => {
    const statementsBefore = stack.workspace.counters.statements.length;
    const result = await checkIdentity(lenientUrl, await federationBearer(stack.workspace, "west_sales"));
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("EXCHANGE_POLICY_MISMATCH");
    const ranAs = stack.workspace.counters.statements
      .slice(statementsBefore)
      .filter((s) => /current_user\(\)/.test(s.statement))
      .map((s) => s.principal);
    expect(ranAs).toEqual([]);
  });
});
