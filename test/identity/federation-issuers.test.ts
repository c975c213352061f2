import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalIdp, type LocalIdp } from "../../emulator/idp/provider.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import type { App } from "../../src/app.js";
import { pseudonymFor } from "../../src/audit/pseudonym.js";
import { waitForAudit } from "../support/audit-table.js";
import { roleServicePrincipal, tokenExchangesFor } from "../support/federation-seed.js";
import { startHttpApp } from "../support/http-app.js";
import { localConfigBase, localResolver } from "../support/local-config.js";
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
const PSEUDONYM_SALT = "pseudonym-salt-of-this-deployment";

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
  idpB = await startLocalIdp({ host: "127.0.0.1", port: 0, seed: workspace.context.seed });
  ({ app, mcpUrl } = await startHttpApp(workspace, {
    env: { MCP_PSEUDONYM_SALT: PSEUDONYM_SALT },
    overrides: { identity: { federation: { issuers: [issuerA(), issuerB()] } } },
  }));
});
afterAll(async () => {
  await app?.stop();
  await idpB?.close();
  await workspace?.close();
});

const base = () => localConfigBase(workspace) as { identity: { federation: { issuers: Record<string, unknown>[] } } };
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
const spOf = (role: string) => roleServicePrincipal(workspace, role);
const exchangesFor = (principal: string) => tokenExchangesFor(workspace, principal);
const http = (token: string) => ({ transport: "http" as const, headers: { authorization: `Bearer ${token}` } });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Statements sent for callers: the server's own audit writer flushes on its own schedule and is left out. */
function callerStatements(): number {
  return workspace.counters.statements.filter(
    (s) => !((s.queryTags ?? []) as { key: string; value: string }[]).some((t) => t.value === "audit_writer"),
  ).length;
}

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
    const resolver = localResolver(workspace);
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
    const resolver = localResolver(workspace, {
      identity: { federation: { issuers: [issuerA(clients), issuerB(clients)] } },
    });
    const viaA = await resolver.resolve(http(await workspace.idp.mintToken({ sub: "evan.east", role: "east_sales" })));
    await expect(viaA.credential.token()).resolves.toBeDefined();
    const viaB = await resolver.resolve(http(await idpB.mintToken({ sub: "evan.east", role: "east_sales" })));
    expect(viaB.identity.expectedPrincipal).toBe(spOf("east_sales"));
    await expect(viaB.credential.token()).rejects.toMatchObject({ code: "EXCHANGE_POLICY_MISMATCH" });
  });
});

describe("the issuer is part of who a Federation caller is", () => {
  /** One subject and role, signed by A and by B: the same `sub` from two IdPs. */
  const SUB = "wendy.twice";
  const viaA = async () => bearer(await workspace.idp.mintToken({ sub: SUB, role: "west_sales" }));
  const viaB = async () => bearer(await idpB.mintToken({ sub: SUB, role: "west_sales" }));
  const argumentsOf = async (requestId: string) => {
    const rows = await waitForAudit(workspace, (r) => r.some((row) => row.request_id === requestId));
    return JSON.parse(rows.find((row) => row.request_id === requestId)!.arguments!) as Record<string, unknown>;
  };

  it("check_identity reports the issuer that verified the human", async () => {
    const answer = toolAnswer(await rpc(mcpUrl, toolCall("check_identity", {}), await viaA()));
    expect(answer.isError, answer.text).toBe(false);
    expect(answer.structured).toMatchObject({ human: SUB, issuer: workspace.idp.issuer });
  });

  it("each audit row names its caller's issuer under $issuer in arguments; human stays the subject", async () => {
    const fromA = await rpc(mcpUrl, toolCall("check_identity", {}), await viaA());
    const fromB = await rpc(mcpUrl, toolCall("check_identity", {}), await viaB());
    expect(toolAnswer(fromB).code).toBe("EXCHANGE_POLICY_MISMATCH");
    for (const [answer, issuer] of [
      [fromA, workspace.idp.issuer],
      [fromB, idpB.issuer],
    ] as const) {
      const requestId = toolAnswer(answer).requestId!;
      expect(await argumentsOf(requestId)).toEqual({ $issuer: issuer });
      const rows = await waitForAudit(workspace, (r) => r.some((row) => row.request_id === requestId));
      expect(rows.find((row) => row.request_id === requestId)).toMatchObject({
        human: SUB,
        credential_source: "exchange",
      });
    }
  });

  it("tags statements with the pseudonym of (issuer, subject) under the configured salt", async () => {
    const answer = await rpc(mcpUrl, toolCall("check_identity", { fresh: true }), await viaA());
    const requestId = toolAnswer(answer).requestId!;
    const tagged = workspace.counters.statements.filter((s) =>
      ((s.queryTags ?? []) as { key: string; value: string }[]).some(
        (t) => t.key === "request_id" && t.value === requestId,
      ),
    );
    expect(tagged.length).toBeGreaterThan(0);
    for (const statement of tagged) {
      const tags = Object.fromEntries(
        ((statement.queryTags ?? []) as { key: string; value: string }[]).map((t) => [t.key, t.value]),
      );
      expect(tags.human).toBe(pseudonymFor(SUB, { issuer: workspace.idp.issuer, salt: PSEUDONYM_SALT }));
      expect(tags.human).not.toBe(pseudonymFor(SUB, { issuer: idpB.issuer, salt: PSEUDONYM_SALT }));
    }
  });

  it("a Genie conversation handle issued to A's subject is NOT_FOUND to the same subject from B, and Genie is never asked", async () => {
    const started = toolAnswer(
      await rpc(mcpUrl, toolCall("genie_query", { question: "What is the total amount by region?" }), await viaA()),
    );
    expect(started.isError, started.text).toBe(false);
    const handle = (started.structured as { conversation_id: string }).conversation_id;
    const genieBefore = callerStatements();
    const exchangesBefore = exchangesFor(spOf("west_sales"));
    const stolen = await rpc(
      mcpUrl,
      toolCall("genie_query", { question: "and the deal names?", conversation_id: handle }),
      await viaB(),
    );
    expect(toolAnswer(stolen).code).toBe("NOT_FOUND");
    // Refused before the caller's credential was ever needed: no exchange, no statement.
    expect(exchangesFor(spOf("west_sales"))).toBe(exchangesBefore);
    expect(callerStatements()).toBe(genieBefore);
    expect(await argumentsOf(toolAnswer(stolen).requestId!)).toMatchObject({ $issuer: idpB.issuer });
  });
});
