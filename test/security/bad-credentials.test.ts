import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT, base64url, exportSPKI, generateKeyPair, importJWK, type JWK } from "jose";
import { startTestStack, type TestStack } from "../support/server.js";
import { federationBearer, oboBearer } from "../support/mcp-clients.js";
import { auditRows, expectRefusalRows, rpc, toolAnswer, toolCall, waitForAuditRows } from "./support.js";
import { recordFigure } from "../reliability/figures.js";
import { freshLoopbackSource } from "../support/json-rpc.js";

let stack: TestStack;
let proxyStack: TestStack;
let attacks = 0;
let refusedAndAudited = 0;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  stack = await startTestStack();
  // A deployment behind the Databricks Apps proxy that takes Federation bearers but no workspace bearers.
  proxyStack = await startTestStack({
    overrides: { identity: { obo: { trustProxyHeader: true, acceptWorkspaceBearer: false } } },
  });
});
afterAll(async () => {
  await stack?.stop();
  await proxyStack?.stop();
  process.off("unhandledRejection", onUnhandled);
  recordFigure("bad credentials tried", attacks);
  recordFigure("bad credentials refused with 401/403 and audited", refusedAndAudited);
  expect(unhandled).toEqual([]);
});

const issuer = () => stack.workspace.idp.issuer;
const audience = () => stack.workspace.context.seed.workspace.federationAudience;
const now = () => Math.floor(Date.now() / 1000);

/** Claims of a valid admin token; each attack changes one thing. */
function adminClaims(extra: Record<string, unknown> = {}) {
  return { iss: issuer(), sub: "ada.admin", email: "ada.admin@example.com", role: "admin", aud: audience(), ...extra };
}

async function currentPublicJwk(): Promise<JWK> {
  const jwks = (await (await fetch(stack.workspace.idp.jwksUri)).json()) as { keys: JWK[] };
  return jwks.keys.find((k) => k.kid === stack.workspace.idp.currentKid())!;
}

async function foreignSigned(claims: Record<string, unknown>, kid: string): Promise<string> {
  const { privateKey } = await generateKeyPair("RS256");
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid, typ: "at+jwt" })
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(privateKey);
}

/**
 * Sends the credential with a tools/call; asserts the HTTP refusal, that nothing of the credential comes back, and
 * that exactly one audit record names the refusal.
 */
async function expectRefused(
  target: TestStack,
  headers: Record<string, string>,
  expected: { status: 401 | 403; code: string },
  call = toolCall("check_identity", {}),
): Promise<void> {
  attacks += 1;
  // Writes what earlier attacks left folded, so this refusal opens a window of its own and is recorded at once.
  await target.app.refusals?.flush();
  const since = Date.now();
  // From its own source address: refusals of one source, code and minute share an audit record.
  const answer = await rpc(target.mcpUrl, call, headers, undefined, freshLoopbackSource());
  expect(answer.status).toBe(expected.status);
  expect(answer.headers.get("www-authenticate") ?? "").toMatch(/^Bearer .*resource_metadata="/);
  expect(toolAnswer(answer).code).toBe(expected.code);
  for (const value of Object.values(headers)) {
    const secret = value.replace(/^Bearer\s+/i, "");
    if (secret.length > 16) expect(answer.text).not.toContain(secret);
  }
  expect(answer.text).not.toMatch(/\bat [\w.<>]+ \(|node_modules/);
  // Exactly one more denied row with this code: the refusal was recorded once.
  expect(await expectRefusalRows(target.workspace, expected.code, 1, since)).toBe(1);
  const rows = await auditRows(target.workspace);
  for (const value of Object.values(headers))
    expect(JSON.stringify(rows)).not.toContain(value.replace(/^Bearer\s+/i, "").slice(-40));
  // The answer names that record; one without a verified caller counts the refusals it stands for: this one.
  const requestId = (answer.messages[0]?.error as { data?: { request_id?: string } } | undefined)?.data?.request_id;
  const row = rows.find((r) => r.request_id === requestId);
  expect(row).toMatchObject({ outcome: "denied", error_code: expected.code });
  if (row!.mode === "unresolved") expect(JSON.parse(row!.arguments!)).toMatchObject({ refusals: { count: 1 } });
  refusedAndAudited += 1;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("Federation bearer verification (each refusal: 401/403, audited, never a crash)", () => {
  it("accepts a well-formed token (control: the attacks below differ from it in one way)", async () => {
    const answer = toolAnswer(
      await rpc(stack.mcpUrl, toolCall("check_identity", {}), await federationBearer(stack.workspace, "admin")),
    );
    expect(answer.isError).toBe(false);
  });

  it("refuses alg none", async () => {
    const header = base64url.encode(JSON.stringify({ alg: "none", typ: "JWT", kid: stack.workspace.idp.currentKid() }));
    const payload = base64url.encode(JSON.stringify({ ...adminClaims(), iat: now(), exp: now() + 600 }));
    await expectRefused(stack, bearer(`${header}.${payload}.`), { status: 401, code: "TOKEN_INVALID" });
  });

  it("refuses HS256 signed with the issuer's public key (algorithm confusion)", async () => {
    const jwk = await currentPublicJwk();
    const pem = await exportSPKI((await importJWK(jwk, "RS256")) as CryptoKey);
    const token = await new SignJWT(adminClaims())
      .setProtectedHeader({ alg: "HS256", kid: jwk.kid })
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(pem));
    await expectRefused(stack, bearer(token), { status: 401, code: "TOKEN_INVALID" });
  });

  it("refuses a bad signature", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "ada.admin", role: "admin" });
    const [h, p, s] = token.split(".");
    const flipped = `${s!.slice(0, 10)}${s![10] === "A" ? "B" : "A"}${s!.slice(11)}`;
    await expectRefused(stack, bearer(`${h}.${p}.${flipped}`), { status: 401, code: "TOKEN_INVALID" });
  });

  it("refuses an unknown kid, refetching the JWKS at most once per cooldown", async () => {
    const before = stack.workspace.idp.jwksFetchCount();
    for (let i = 0; i < 5; i += 1) {
      const token = await foreignSigned(adminClaims(), `unknown-${i}`);
      await expectRefused(stack, bearer(token), { status: 401, code: "TOKEN_INVALID" });
    }
    expect(stack.workspace.idp.jwksFetchCount() - before).toBeLessThanOrEqual(1);
  });

  it("refuses an expired token", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "ada.admin", role: "admin", ttlSeconds: -600 });
    await expectRefused(stack, bearer(token), { status: 401, code: "TOKEN_EXPIRED" });
  });

  it("refuses a token whose nbf is in the future (beyond the clock tolerance)", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "ada.admin", role: "admin", nbf: now() + 600 });
    await expectRefused(stack, bearer(token), { status: 401, code: "TOKEN_INVALID" });
  });

  it("refuses a token whose iat is in the future (beyond the clock tolerance)", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "ada.admin", role: "admin", iat: now() + 600 });
    await expectRefused(stack, bearer(token), { status: 401, code: "TOKEN_INVALID" });
  });

  it("refuses a token that lives longer than the maximum lifetime (24 h by default)", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "ada.admin", role: "admin", ttlSeconds: 2 * 86_400 });
    await expectRefused(stack, bearer(token), { status: 401, code: "TOKEN_INVALID" });
  });

  it("refuses a token without a sub", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: undefined as never, role: "admin" });
    await expectRefused(stack, bearer(token), { status: 401, code: "TOKEN_INVALID" });
  });

  it("refuses a token whose sub is empty", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "", role: "admin" });
    await expectRefused(stack, bearer(token), { status: 401, code: "TOKEN_INVALID" });
  });

  it("refuses an iss that differs by a trailing slash", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "ada.admin", role: "admin", iss: `${issuer()}/` });
    await expectRefused(stack, bearer(token), { status: 401, code: "TOKEN_INVALID" });
  });

  it("refuses a wrong aud", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "ada.admin", role: "admin", aud: "some-other-api" });
    await expectRefused(stack, bearer(token), { status: 401, code: "TOKEN_INVALID" });
  });

  it("refuses a token without a role claim", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "someone-without-a-role" });
    await expectRefused(stack, bearer(token), { status: 403, code: "ROLE_UNMAPPED" });
  });

  it("refuses an unknown role", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "ada.admin", role: "superuser" });
    await expectRefused(stack, bearer(token), { status: 403, code: "ROLE_UNMAPPED" });
  });

  it.each([
    ["a number", 1],
    ["an array", ["admin"]],
    ["an object", { name: "admin" }],
    ["a boolean", true],
  ])("refuses a role claim of the wrong type (%s)", async (_kind, role) => {
    const token = await stack.workspace.idp.mintToken({ sub: "ada.admin", role: role as never });
    await expectRefused(stack, bearer(token), { status: 403, code: "ROLE_UNMAPPED" });
  });

  it("refuses a role named after an Object prototype property", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "ada.admin", role: "constructor" });
    await expectRefused(stack, bearer(token), { status: 403, code: "ROLE_UNMAPPED" });
  });

  it("refuses a token of another issuer whose sub equals a real user", async () => {
    const token = await foreignSigned(adminClaims({ iss: "http://127.0.0.1:1/another-idp" }), "another-idp-key");
    await expectRefused(stack, bearer(token), { status: 401, code: "TOKEN_INVALID" });
  });

  it("refuses an oversized token before parsing it", async () => {
    const token = await stack.workspace.idp.mintToken({ sub: "ada.admin", role: "admin", pad: "x".repeat(9000) });
    await expectRefused(stack, bearer(token), { status: 401, code: "TOKEN_INVALID" });
  });

  it("refuses an oversized header at the HTTP parser (431) and keeps serving", async () => {
    attacks += 1;
    const answer = await rpc(stack.mcpUrl, toolCall("check_identity", {}), bearer("A".repeat(64 * 1024))).catch(() => ({
      status: 431,
    }));
    // No request exists to audit: the connection is refused before headers are parsed.
    expect(answer.status).toBe(431);
    const ok = toolAnswer(
      await rpc(stack.mcpUrl, toolCall("check_identity", {}), await federationBearer(stack.workspace, "west_sales")),
    );
    expect(ok.isError).toBe(false);
  });

  it("refuses a malformed Authorization header", async () => {
    await expectRefused(stack, { authorization: "Basic YWRhOmFkbWlu" }, { status: 401, code: "TOKEN_INVALID" });
    await expectRefused(stack, bearer("not-a-jwt"), { status: 401, code: "TOKEN_INVALID" });
  });
});

describe("hostile claim values in a validly signed token", () => {
  it("keeps the audit trail flowing when the subject holds a NUL and control characters", async () => {
    attacks += 1;
    const token = await stack.workspace.idp.mintToken({ sub: "ada\u0000admin\u001b[31m", role: "admin" });
    const first = toolAnswer(await rpc(stack.mcpUrl, toolCall("check_identity", {}), bearer(token)));
    const second = toolAnswer(
      await rpc(stack.mcpUrl, toolCall("check_identity", {}), await federationBearer(stack.workspace, "finance")),
    );
    const ids = [first.requestId, second.requestId];
    expect(ids.every(Boolean)).toBe(true);
    const rows = await waitForAuditRows(stack.workspace, (r) => ids.every((id) => r.some((x) => x.request_id === id)));
    const human = rows.find((x) => x.request_id === first.requestId)?.human;
    expect(human).toBe("ada\ufffdadmin\ufffd[31m");
    expect(rows.some((x) => x.request_id === second.requestId)).toBe(true);
  });
});

describe("credentials of the wrong kind", () => {
  it("refuses a workspace token sent as the bearer where only Federation bearers are accepted", async () => {
    const headers = await oboBearer(proxyStack.workspace, "olivia.obo@example.com");
    await expectRefused(proxyStack, headers, { status: 401, code: "TOKEN_INVALID" });
  });

  it("refuses a Federation token sent where a workspace token is expected (proxy header)", async () => {
    const { authorization } = await federationBearer(proxyStack.workspace, "admin");
    await expectRefused(
      proxyStack,
      { "x-forwarded-access-token": authorization!.replace(/^Bearer /, "") },
      { status: 401, code: "TOKEN_INVALID" },
    );
  });

  it("refuses x-forwarded-access-token when proxy trust is off, even carrying a valid workspace token", async () => {
    const { authorization } = await oboBearer(stack.workspace, "olivia.obo@example.com");
    await expectRefused(
      stack,
      { "x-forwarded-access-token": authorization!.replace(/^Bearer /, "") },
      { status: 401, code: "PROXY_HEADER_UNTRUSTED" },
    );
  });

  it("refuses a workspace token signed by another key than the workspace's", async () => {
    const token = await foreignSigned(
      {
        iss: `${stack.workspace.baseUrl}/oidc`,
        sub: "ada.admin@example.com",
        scope: "all-apis",
        aud: stack.workspace.baseUrl,
      },
      "forged",
    );
    await expectRefused(stack, bearer(token), { status: 401, code: "TOKEN_INVALID" });
  });

  it("refuses a call when no credential is sent (no anonymous fallback to the server's identity)", async () => {
    await expectRefused(stack, {}, { status: 401, code: "UNAUTHENTICATED" });
  });
});

describe("scopes narrower than the tool needs", () => {
  it("refuses the tool with 403 insufficient_scope (SCOPE_MISSING) and audits the denial", async () => {
    const headers = await oboBearer(stack.workspace, "olivia.obo@example.com", ["dashboards.genie"]);
    await expectRefused(
      stack,
      headers,
      { status: 403, code: "SCOPE_MISSING" },
      toolCall("query_sales_data", { limit: 5 }),
    );
  });
});
