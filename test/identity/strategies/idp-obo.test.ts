import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EntraLikeIssuer } from "../../../emulator/entra/issuer.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../../emulator/workspace.js";
import type { App } from "../../../src/app.js";
import { ConfigError, loadConfig } from "../../../src/config/load.js";
import { waitForAudit } from "../../support/audit-table.js";
import { SERVER_APP, idpOboOverrides, startTrustedEntra } from "../../support/entra.js";
import { startHttpApp } from "../../support/http-app.js";
import { localResolver } from "../../support/local-config.js";
import { rpc, toolAnswer, toolCall } from "../../security/support.js";
import { currentUserOf } from "../../support/sql-workspace.js";

let workspace: LocalWorkspace;
let entra: EntraLikeIssuer;
let app: App;
let mcpUrl: string;

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
  entra = await startTrustedEntra(workspace);
  ({ app, mcpUrl } = await startHttpApp(workspace, { overrides: idpOboOverrides(entra) }));
});
afterAll(async () => {
  await app?.stop();
  await workspace?.close();
  await entra?.close();
});

const WENDY = "wendy.west@example.com";
const http = (token: string) => ({ transport: "http" as const, headers: { authorization: `Bearer ${token}` } });
const userToken = (user = WENDY, extra: Record<string, unknown> = {}) =>
  entra.userToken({ user, audience: SERVER_APP.clientId, ...extra });

const currentUser = (accessToken: string) => currentUserOf(workspace, accessToken);

describe("IdP on-behalf-of (jwt-bearer, requested_token_use=on_behalf_of, scope Azure Databricks)", () => {
  it("exchanges the user's IdP token at the IdP; the workspace sees the user", async () => {
    const caller = await localResolver(workspace, idpOboOverrides(entra)).resolve(http(await userToken()));
    expect(caller.identity).toMatchObject({
      mode: "idp-obo",
      source: "on-behalf-of",
      human: WENDY,
      issuer: entra.issuer,
    });
    expect(await currentUser((await caller.credential.token()).accessToken)).toBe(WENDY);
  });

  it("asks the IdP once for 300 concurrent first calls with one token, and again for another token", async () => {
    const resolver = localResolver(workspace, idpOboOverrides(entra));
    const token = await userToken();
    const before = entra.onBehalfOfCount(WENDY);
    const tokens = await Promise.all(
      Array.from({ length: 300 }, async () => (await resolver.resolve(http(token))).credential.token()),
    );
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    expect(entra.onBehalfOfCount(WENDY) - before).toBe(1);
    await (await resolver.resolve(http(await userToken()))).credential.token();
    expect(entra.onBehalfOfCount(WENDY) - before).toBe(2);
  });

  it("a token issued to another app is refused here, before the IdP is asked", async () => {
    const before = entra.onBehalfOfCount(WENDY);
    const resolver = localResolver(workspace, idpOboOverrides(entra));
    await expect(
      resolver.resolve(http(await entra.userToken({ user: WENDY, audience: "another-app" }))),
    ).rejects.toMatchObject({
      code: "TOKEN_INVALID",
    });
    expect(entra.onBehalfOfCount(WENDY)).toBe(before);
  });

  it("an IdP refusal is a refusal naming its AADSTS code, never another identity", async () => {
    const resolver = localResolver(workspace, idpOboOverrides(entra, { clientSecret: "not-the-secret" }));
    const caller = await resolver.resolve(http(await userToken()));
    await expect(caller.credential.token()).rejects.toMatchObject({
      code: "EXCHANGE_FAILED",
      message: expect.stringContaining("invalid_client, AADSTS7000215"),
    });
  });

  it("a token naming no user in the configured claims is refused", async () => {
    const resolver = localResolver(workspace, idpOboOverrides(entra, { userClaims: ["upn"] }));
    await expect(resolver.resolve(http(await userToken()))).rejects.toMatchObject({ code: "TOKEN_INVALID" });
  });

  it("a missing setting names the environment variable to set", () => {
    expect(() =>
      loadConfig(
        {
          MCP_IDP_OBO_ISSUER: entra.issuer,
          MCP_IDP_OBO_AUDIENCE: "a",
          MCP_IDP_OBO_CLIENT_ID: "c",
          MCP_IDP_OBO_CLIENT_SECRET: "s",
        },
        { workspace: { host: workspace.baseUrl, warehouseId: "w", genieSpaceId: "g" } },
      ),
    ).toThrow(/MCP_IDP_OBO_TOKEN_ENDPOINT/);
    expect(() =>
      loadConfig(
        {},
        {
          workspace: { host: workspace.baseUrl, warehouseId: "w", genieSpaceId: "g" },
          ...idpOboOverrides(entra, { issuer: "https://idp.example.com" }),
          identity: {
            ...idpOboOverrides(entra, { issuer: "https://idp.example.com" }).identity,
            federation: {
              issuers: [{ issuer: "https://idp.example.com", audience: "x" }],
              roleToServicePrincipal: { r: "sp" },
            },
          },
        },
      ),
    ).toThrow(ConfigError);
  });
});

describe("over HTTP", () => {
  it("check_identity shows mode idp-obo via on-behalf-of, the user as workspace principal; the audit row says so", async () => {
    const answer = toolAnswer(
      await rpc(mcpUrl, toolCall("check_identity", {}), { authorization: `Bearer ${await userToken()}` }),
    );
    expect(answer.isError, answer.text).toBe(false);
    expect(answer.structured).toMatchObject({
      mode: "idp-obo",
      credential_source: "on-behalf-of",
      human: WENDY,
      workspace_principal: WENDY,
    });
    const rows = await waitForAudit(workspace, (r) => r.some((row) => row.request_id === answer.requestId));
    expect(rows.find((row) => row.request_id === answer.requestId)).toMatchObject({
      mode: "idp-obo",
      credential_source: "on-behalf-of",
      human: WENDY,
    });
  });
});
