import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalIdp, type LocalIdp } from "../../emulator/idp/provider.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { startApp, type App } from "../../src/app.js";
import { embeddedConfigBase } from "../../src/config/embedded.js";
import { loadConfig, merge } from "../../src/config/load.js";
import { createCredentialResolver } from "../../src/identity/strategy-selector.js";
import { ALL_TOOLS } from "../../tools/index.js";
import { seedUserOfRole } from "../support/mcp-clients.js";
import { rpc, toolAnswer, toolCall } from "../security/support.js";

/**
 * Two Federation issuers on one server: the local workspace's IdP (A), which the role service principals' federation
 * policies trust, and a second IdP (B) the server also accepts but no federation policy trusts.
 */
let workspace: LocalWorkspace;
let idpB: LocalIdp;
let app: App;
let mcpUrl: string;

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
  idpB = await startLocalIdp({ host: "127.0.0.1", port: 0, seed: workspace.context.seed });
  app = await startApp({
    env: { LOG_LEVEL: "silent" },
    transport: "http",
    localWorkspace: workspace,
    logger: pino({ level: "silent" }),
    overrides: {
      server: { port: 0 },
      audit: { spoolDir: mkdtempSync(join(tmpdir(), "governed-mcp-spool-")), flushIntervalMs: 50 },
      identity: { federation: { issuers: [issuerA(), issuerB()] } },
    },
  });
  mcpUrl = `${app.http!.url}${app.config.server.path}`;
});
afterAll(async () => {
  await app?.stop();
  await idpB?.close();
  await workspace?.close();
});

function base() {
  return embeddedConfigBase(workspace.context.seed, workspace.baseUrl, workspace.idp.issuer, workspace.idp.jwksUri) as {
    identity: { federation: { issuers: Record<string, unknown>[] } };
  };
}
const issuerA = (extra: Record<string, unknown> = {}) => ({ ...base().identity.federation.issuers[0], ...extra });
const issuerB = (extra: Record<string, unknown> = {}) => ({
  ...issuerA(),
  issuer: idpB.issuer,
  jwksUri: idpB.jwksUri,
  ...extra,
});
const idpClients = () =>
  Object.fromEntries(
    workspace.context.seed.idpClients.map((c) => [c.role, { clientId: c.clientId, clientSecret: c.clientSecret }]),
  );
const spOf = (role: string) =>
  workspace.context.seed.servicePrincipals.find((sp) =>
    sp.federationPolicies.some((p) => p.subject_claim === "role" && p.subject === role),
  )!.applicationId;
const exchangesFor = (principal: string) =>
  workspace.context.counters.tokenRequests.get(`token_exchange|${principal}`) ?? 0;
const http = (token: string) => ({ transport: "http" as const, headers: { authorization: `Bearer ${token}` } });

describe("two Federation issuers on one server", () => {
  it("refuses issuer B's token carrying A's victim sub, exp and role: it is exchanged, never served A's cached token", async () => {
    const victim = seedUserOfRole(workspace, "west_sales");
    const victimToken = await workspace.idp.mintToken({ sub: victim.idpSubject!, role: "west_sales" });
    const ok = toolAnswer(
      await rpc(mcpUrl, toolCall("check_identity", {}), { authorization: `Bearer ${victimToken}` }),
    );
    expect(ok.isError, ok.text).toBe(false);
    expect(ok.structured).toMatchObject({ role: "west_sales", workspace_principal: spOf("west_sales") });

    const { sub, exp, iat } = decodeJwt(victimToken);
    const forged = await idpB.mintToken({ sub: sub!, role: "west_sales", exp, iat });
    const refused = toolAnswer(
      await rpc(mcpUrl, toolCall("check_identity", {}), { authorization: `Bearer ${forged}` }),
    );
    expect(refused.isError).toBe(true);
    expect(refused.code).toBe("EXCHANGE_POLICY_MISMATCH");
    expect(refused.text).not.toContain(spOf("west_sales"));
  });

  it("gives each subject token its own exchange, even another token of the same issuer with the same sub and exp", async () => {
    const resolver = createCredentialResolver(loadConfig({}, base()), {
      tools: ALL_TOOLS,
      logger: pino({ level: "silent" }),
    });
    const first = await workspace.idp.mintToken({ sub: "fiona.finance", role: "finance" });
    const { exp, iat } = decodeJwt(first);
    const second = await workspace.idp.mintToken({ sub: "fiona.finance", role: "finance", exp, iat });
    expect(second).not.toBe(first);
    const before = exchangesFor(spOf("finance"));
    const tokens = [];
    for (const jwt of [first, second, first]) tokens.push(await (await resolver.resolve(http(jwt))).credential.token());
    expect(exchangesFor(spOf("finance")) - before).toBe(2);
    expect(tokens[0]!.accessToken).not.toBe(tokens[1]!.accessToken);
    expect(tokens[2]!.accessToken).toBe(tokens[0]!.accessToken);
  });

  it("keeps per-role IdP-client exchanges of two issuers apart: B's subject token is exchanged and refused", async () => {
    const clients = { subjectTokenSource: "idp-client-credentials", idpClients: idpClients() };
    const config = loadConfig(
      {},
      merge(base(), { identity: { federation: { issuers: [issuerA(clients), issuerB(clients)] } } }),
    );
    const resolver = createCredentialResolver(config, { tools: ALL_TOOLS, logger: pino({ level: "silent" }) });
    const viaA = await resolver.resolve(http(await workspace.idp.mintToken({ sub: "evan.east", role: "east_sales" })));
    await expect(viaA.credential.token()).resolves.toBeDefined();
    const viaB = await resolver.resolve(http(await idpB.mintToken({ sub: "evan.east", role: "east_sales" })));
    expect(viaB.identity.expectedPrincipal).toBe(spOf("east_sales"));
    await expect(viaB.credential.token()).rejects.toMatchObject({ code: "EXCHANGE_POLICY_MISMATCH" });
  });
});
