import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../../emulator/workspace.js";
import type { App } from "../../../src/app.js";
import { ConfigError, loadConfig, merge } from "../../../src/config/load.js";
import { waitForAudit } from "../../support/audit-table.js";
import { roleServicePrincipal, tokenExchangesFor } from "../../support/federation-seed.js";
import { startHttpApp } from "../../support/http-app.js";
import { localConfigBase, localResolver } from "../../support/local-config.js";
import { rpc, toolAnswer, toolCall } from "../../security/support.js";

let workspace: LocalWorkspace;
let app: App;
let mcpUrl: string;

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
  ({ app, mcpUrl } = await startHttpApp(workspace, { overrides: issuerWith({ exchangeFor: "user" }) }));
});
afterAll(async () => {
  await app?.stop();
  await workspace?.close();
});

const WENDY = "wendy.west@example.com";
const base = () => localConfigBase(workspace) as { identity: { federation: { issuers: Record<string, unknown>[] } } };
const issuerWith = (extra: Record<string, unknown>) => ({
  identity: { federation: { issuers: [{ ...base().identity.federation.issuers[0], ...extra }] } },
});
const resolverFor = (exchangeFor: string, extra: Record<string, unknown> = {}) =>
  localResolver(workspace, merge(issuerWith({ exchangeFor }), extra));
const http = (token: string) => ({ transport: "http" as const, headers: { authorization: `Bearer ${token}` } });
const exchangesFor = (principal: string) => tokenExchangesFor(workspace, principal);
const wendyToken = (extra: Record<string, unknown> = {}) =>
  workspace.idp.mintToken({ sub: "wendy.west", email: WENDY, role: "west_sales", ...extra });
const strangerToken = () =>
  workspace.idp.mintToken({ sub: "sam.stranger", email: "sam.stranger@example.com", role: "west_sales" });

/** One statement as the token's principal, straight at the workspace: its rows as arrays of strings. */
async function sqlAs(accessToken: string, statement: string): Promise<(string | null)[][]> {
  const res = await fetch(`${workspace.baseUrl}/api/2.0/sql/statements`, {
    method: "POST",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ warehouse_id: workspace.context.seed.warehouses[0]!.id, statement, wait_timeout: "30s" }),
  });
  const body = (await res.json()) as { status: { state: string }; result?: { data_array?: (string | null)[][] } };
  expect(body.status.state).toBe("SUCCEEDED");
  return body.result?.data_array ?? [];
}

const OWN_DEALS_ELSEWHERE =
  "SELECT count(*) FROM main.sales.deals WHERE owner_email = current_user() AND region <> 'WEST'";

describe("Federation to the user (account federation policy, subject claim email)", () => {
  it("exchanges the caller's JWT for a token of the user it names: current_user() is the human's email", async () => {
    const caller = await resolverFor("user").resolve(http(await wendyToken()));
    expect(caller.identity).toMatchObject({
      mode: "federation-user",
      source: "exchange",
      human: WENDY,
      expectedPrincipal: WENDY,
      issuer: workspace.idp.issuer,
    });
    const token = await caller.credential.token();
    expect(await sqlAs(token.accessToken, "SELECT current_user()")).toEqual([[WENDY]]);
  });

  it("owner-based row filters fire per person: the user sees deals they own outside their region; the role does not", async () => {
    const asUser = await (await resolverFor("user").resolve(http(await wendyToken()))).credential.token();
    const asRole = await (await resolverFor("role").resolve(http(await wendyToken()))).credential.token();
    const [[ownElsewhere]] = (await sqlAs(asUser.accessToken, OWN_DEALS_ELSEWHERE)) as [[string]];
    expect(Number(ownElsewhere)).toBeGreaterThan(0);
    expect(await sqlAs(asRole.accessToken, "SELECT current_user()")).toEqual([
      [roleServicePrincipal(workspace, "west_sales")],
    ]);
    const [[roleSees]] = (await sqlAs(
      asRole.accessToken,
      `SELECT count(*) FROM main.sales.deals WHERE owner_email = '${WENDY}' AND region <> 'WEST'`,
    )) as [[string]];
    expect(Number(roleSees)).toBe(0);
  });

  it("makes one exchange for 500 concurrent first calls with one token, and another for another token of the same user", async () => {
    const resolver = resolverFor("user");
    const first = await wendyToken();
    const before = exchangesFor(WENDY);
    const tokens = await Promise.all(
      Array.from({ length: 500 }, async () => (await resolver.resolve(http(first))).credential.token()),
    );
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    expect(exchangesFor(WENDY) - before).toBe(1);
    await (await resolver.resolve(http(await wendyToken()))).credential.token();
    expect(exchangesFor(WENDY) - before).toBe(2);
  });

  it("the user's token expires no later than the subject token it was exchanged from", async () => {
    const subject = await wendyToken({ ttlSeconds: 300 });
    const token = await (await resolverFor("user").resolve(http(subject))).credential.token();
    expect(token.expiresAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 301);
  });

  it("a user the workspace does not know is refused, never exchanged for the role instead", async () => {
    const resolver = resolverFor("user");
    const west = roleServicePrincipal(workspace, "west_sales");
    const before = exchangesFor(west);
    const caller = await resolver.resolve(http(await strangerToken()));
    await expect(caller.credential.token()).rejects.toMatchObject({ code: "EXCHANGE_POLICY_MISMATCH" });
    expect(exchangesFor(west)).toBe(before);
  });

  it("a token without the user claim is refused before any exchange", async () => {
    const noEmail = await workspace.idp.mintToken({ sub: "nobody", role: "west_sales" });
    await expect(resolverFor("user").resolve(http(noEmail))).rejects.toMatchObject({ code: "TOKEN_INVALID" });
  });
});

describe("the rule user-if-known: the user when the workspace knows them, the role otherwise, recorded as chosen by rule", () => {
  it("a known user is exchanged for the user", async () => {
    const caller = await resolverFor("user-if-known").resolve(http(await wendyToken()));
    expect(caller.identity).toMatchObject({ mode: "federation-user", source: "exchange-by-rule", human: WENDY });
    expect(await sqlAs((await caller.credential.token()).accessToken, "SELECT current_user()")).toEqual([[WENDY]]);
  });

  it("an unknown user goes to the role's service principal", async () => {
    const caller = await resolverFor("user-if-known").resolve(http(await strangerToken()));
    const west = roleServicePrincipal(workspace, "west_sales");
    expect(caller.identity).toMatchObject({
      mode: "federation",
      source: "exchange-by-rule",
      role: "west_sales",
      expectedPrincipal: west,
    });
    expect(await sqlAs((await caller.credential.token()).accessToken, "SELECT current_user()")).toEqual([[west]]);
  });

  it("when the workspace cannot say whether it knows the user, the call is refused rather than sent as the role", async () => {
    const resolver = resolverFor("user-if-known", { identity: { m2m: { clientSecret: "not-the-secret" } } });
    // The server's own credentials are refused (invalid_client): a configuration fault, never a reason to use the role.
    await expect(resolver.resolve(http(await strangerToken()))).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });

  it("needs the server's service principal, and says which variables to set", () => {
    const raw = merge(localConfigBase(workspace), issuerWith({ exchangeFor: "user-if-known" }));
    const withoutSp = merge(raw, { identity: { m2m: { clientId: "", clientSecret: "" } } });
    expect(() => loadConfig({}, withoutSp)).toThrow(ConfigError);
    expect(() => loadConfig({}, withoutSp)).toThrow(/DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET/);
  });

  it("MCP_FEDERATION_EXCHANGE_FOR sets the issuer's target from the environment", () => {
    const config = loadConfig(
      {
        MCP_FEDERATION_ISSUER: "https://idp.example.com",
        MCP_FEDERATION_AUDIENCE: "a",
        MCP_FEDERATION_EXCHANGE_FOR: "user",
      },
      { workspace: { host: "https://w.example.com", warehouseId: "w", genieSpaceId: "g" } },
    );
    expect(config.identity.federation.issuers[0]).toMatchObject({ exchangeFor: "user", userClaim: "email" });
  });
});

describe("over HTTP: check_identity and the audit trail name the pattern", () => {
  it("check_identity shows mode federation-user and the human's email as the workspace principal; the audit row says so", async () => {
    const answer = toolAnswer(
      await rpc(mcpUrl, toolCall("check_identity", {}), { authorization: `Bearer ${await wendyToken()}` }),
    );
    expect(answer.isError, answer.text).toBe(false);
    expect(answer.structured).toMatchObject({
      mode: "federation-user",
      credential_source: "exchange",
      human: WENDY,
      workspace_principal: WENDY,
    });
    const requestId = answer.requestId!;
    const rows = await waitForAudit(workspace, (r) => r.some((row) => row.request_id === requestId));
    expect(rows.find((row) => row.request_id === requestId)).toMatchObject({
      mode: "federation-user",
      credential_source: "exchange",
      human: WENDY,
    });
  });
});
