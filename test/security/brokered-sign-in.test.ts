import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import type { App } from "../../src/app.js";
import { systemClock } from "../../src/clock.js";
import { BrokerTokens } from "../../src/identity/broker/broker-tokens.js";
import { workspaceTokenRequest } from "../../src/identity/broker/workspace-grants.js";
import { createBrokeredStrategy } from "../../src/identity/strategies/brokered.js";
import { appConnectionSignIn, brokerGrants, serverTokensFor, startBrokeredApp } from "../support/broker.js";
import { rpc, toolAnswer, toolCall, waitForAuditRows, type AuditRow } from "./support.js";

/** The brokered sign-in under attack: forged and misdirected server tokens, revoked sign-ins, one user's grant for another. */
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

const REDIRECT = "http://127.0.0.1:47996/cb";
const tokenKey = () => app.config.identity.broker!.tokenKey;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const http = (token: string) => ({ transport: "http" as const, headers: bearer(token) });

const signedIn = (user: string) => serverTokensFor(base, user, REDIRECT);

describe("forged or misdirected server tokens", () => {
  it("a token with the server as issuer but signed with another key is refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ grant: "g", client_id: "c" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(base)
      .setAudience(mcpUrl)
      .setSubject("ada.admin@example.com")
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(randomBytes(32));
    expect(toolAnswer(await rpc(mcpUrl, toolCall("check_identity", {}), bearer(forged))).code).toBe("TOKEN_INVALID");
  });

  it("a token the server signed for another resource is refused", async () => {
    const { access_token } = await signedIn("wendy.west@example.com");
    const { grant } = JSON.parse(Buffer.from(access_token.split(".")[1]!, "base64url").toString()) as { grant: string };
    const elsewhere = new BrokerTokens(tokenKey(), base, "http://127.0.0.1:1/other-mcp", 600, systemClock);
    const { accessToken } = await elsewhere.issue({ user: "wendy.west@example.com", grantId: grant, clientId: "c" });
    expect(toolAnswer(await rpc(mcpUrl, toolCall("check_identity", {}), bearer(accessToken))).code).toBe(
      "TOKEN_INVALID",
    );
    expect(toolAnswer(await rpc(mcpUrl, toolCall("check_identity", {}), bearer(access_token))).isError).toBe(false);
  });
});

describe("revoked refresh tokens", () => {
  it("once the workspace refused the user's refresh token, the server's refresh token is refused too", async () => {
    const tokens = await signedIn("frank.finance@example.com");
    const connection = workspace.context.seed.workspace.appConnections[0]!;
    workspace.context.userGrants!.revoke("frank.finance@example.com", connection.clientId);
    const refused = toolAnswer(
      await rpc(mcpUrl, toolCall("check_identity", { fresh: true }), bearer(tokens.access_token)),
    );
    expect(refused.code).toBe("TOKEN_EXPIRED");
    const res = await fetch(`${base}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: tokens.refresh_token,
        client_id: tokens.clientId,
      }),
    });
    expect(await res.json()).toMatchObject({ error: "invalid_grant" });
    expect(toolAnswer(await rpc(mcpUrl, toolCall("check_identity", {}), bearer(tokens.access_token))).code).toBe(
      "TOKEN_EXPIRED",
    );
  });
});

describe("one user's server-side token is never used for another", () => {
  async function twoUsers() {
    const { broker, store, grants } = brokerGrants(workspace, systemClock);
    const redirect = "http://127.0.0.1:47995/oauth/databricks/callback";
    for (const [grantId, user] of [
      ["grant-a", "wendy.west@example.com"],
      ["grant-b", "evan.east@example.com"],
    ] as const) {
      const { code, verifier } = await appConnectionSignIn(workspace, user, redirect);
      const form = { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: redirect };
      await grants.put(grantId, { user, ...(await workspaceTokenRequest(workspace.baseUrl, broker, form, 0)) });
    }
    const tokens = new BrokerTokens(
      broker.tokenKey,
      "https://mcp.example.com",
      "https://mcp.example.com/mcp",
      600,
      systemClock,
    );
    const tokenOf = async (user: string, grantId: string) =>
      (await tokens.issue({ user, grantId, clientId: "c" })).accessToken;
    return { store, grants, strategy: createBrokeredStrategy(tokens, grants), tokenOf };
  }

  const who = async (accessToken: string) =>
    (
      (await (
        await fetch(`${workspace.baseUrl}/api/2.0/preview/scim/v2/Me`, {
          headers: { authorization: `Bearer ${accessToken}` },
        })
      ).json()) as { userName: string }
    ).userName;

  it("interleaved calls of two signed-in users each reach only their own workspace token", async () => {
    const { strategy, tokenOf } = await twoUsers();
    const callers = [
      ["wendy.west@example.com", await tokenOf("wendy.west@example.com", "grant-a")],
      ["evan.east@example.com", await tokenOf("evan.east@example.com", "grant-b")],
    ] as const;
    const rounds = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const [user, token] = callers[i % 2]!;
        const caller = await strategy.resolve(http(token));
        return {
          user,
          human: caller.identity.human,
          workspaceUser: await who((await caller.credential.token()).accessToken),
        };
      }),
    );
    for (const round of rounds) expect([round.human, round.workspaceUser]).toEqual([round.user, round.user]);
  });

  it("a grant record copied under another user's grant never opens, and a token naming another user's grant is refused", async () => {
    const { store, strategy, tokenOf } = await twoUsers();
    await expect(strategy.resolve(http(await tokenOf("wendy.west@example.com", "grant-b")))).rejects.toMatchObject({
      code: "TOKEN_EXPIRED",
    });
    await store.set("workspace-grant:grant-b", (await store.get("workspace-grant:grant-a"))!, Date.now() + 60_000);
    await expect(strategy.resolve(http(await tokenOf("evan.east@example.com", "grant-b")))).rejects.toMatchObject({
      code: "TOKEN_EXPIRED",
    });
  });
});

describe("refusals at the broker's own endpoints", () => {
  it("an oversize token form and a forged code are refused, and both reach the audit table without the code or verifier", async () => {
    // Earlier tests here may have been refused at the token endpoint too, and their rows may still be on their way
    // to the table: this test's rows are those of calls that started after it did.
    const startedAt = Date.now();
    const tokenRefusals = (all: AuditRow[]) =>
      all.filter((r) => r.tool === "oauth.token" && Date.parse(r.event_time!) >= startedAt);
    const code = `forged-${randomBytes(8).toString("hex")}`;
    const verifier = `verifier-${randomBytes(8).toString("hex")}`;
    const post = (body: string) =>
      fetch(`${base}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
      });
    const oversize = await post(new URLSearchParams({ code, code_verifier: verifier.repeat(2000) }).toString());
    expect(oversize.status).toBe(413);
    const forged = await post(
      new URLSearchParams({ grant_type: "authorization_code", code, code_verifier: verifier }).toString(),
    );
    expect(forged.status).toBe(400);
    const rows = await waitForAuditRows(workspace, (all) => tokenRefusals(all).length >= 2);
    const refusals = tokenRefusals(rows);
    expect(refusals.map((r) => [r.outcome, r.error_code]).sort()).toEqual([
      ["denied", "INVALID_ARGUMENT"],
      ["denied", "UNAUTHENTICATED"],
    ]);
    const text = JSON.stringify(refusals);
    expect(text).not.toContain(code);
    expect(text).not.toContain(verifier);
  });
});
