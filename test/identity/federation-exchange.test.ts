import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { embeddedConfigBase } from "../../src/config/embedded.js";
import { loadConfig, merge } from "../../src/config/load.js";
import { createCredentialResolver, type CredentialResolver } from "../../src/identity/strategy-selector.js";
import { ALL_TOOLS } from "../../tools/index.js";
import { FakeClock } from "../support/fake-clock.js";
import { roleServicePrincipal, tokenExchangesFor } from "../support/federation-seed.js";
import { federationBearer, seedUserOfRole } from "../support/mcp-clients.js";

let workspace: LocalWorkspace;
beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
});
afterAll(async () => {
  await workspace?.close();
});

const logger = pino({ level: "silent" });

/** A resolver as the server builds it, against the local workspace and IdP, with configuration on top. */
function resolverWith(overrides: Record<string, unknown> = {}, now?: () => number): CredentialResolver {
  const base = embeddedConfigBase(
    workspace.context.seed,
    workspace.baseUrl,
    workspace.idp.issuer,
    workspace.idp.jwksUri,
  );
  return createCredentialResolver(loadConfig({}, merge(base, overrides)), { tools: ALL_TOOLS, logger, now });
}

function idpClientOverrides(extra: Record<string, unknown> = {}) {
  const idpClients = Object.fromEntries(
    workspace.context.seed.idpClients.map((c) => [c.role, { clientId: c.clientId, clientSecret: c.clientSecret }]),
  );
  const base = embeddedConfigBase(
    workspace.context.seed,
    workspace.baseUrl,
    workspace.idp.issuer,
    workspace.idp.jwksUri,
  ) as { identity: { federation: { issuers: Record<string, unknown>[] } } };
  const issuer = { ...base.identity.federation.issuers[0], subjectTokenSource: "idp-client-credentials", idpClients };
  return merge({ identity: { federation: { issuers: [issuer] } } }, extra);
}

const http = (headers: Record<string, string>) => ({ transport: "http" as const, headers });
const spOf = (role: string) => roleServicePrincipal(workspace, role);
const exchangesFor = (principal: string) => tokenExchangesFor(workspace, principal);

/** Who the workspace says a token belongs to (SCIM Me over HTTP). */
async function whoIs(accessToken: string): Promise<string> {
  const res = await fetch(`${workspace.baseUrl}/api/2.0/preview/scim/v2/Me`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  expect(res.status).toBe(200);
  const me = (await res.json()) as { userName?: string; applicationId?: string };
  return String(me.applicationId ?? me.userName);
}

describe("Federation with the caller's own JWT as subject token", () => {
  it("makes exactly one token exchange for 1,000 concurrent first calls of one role", async () => {
    const resolver = resolverWith();
    const headers = await federationBearer(workspace, "managers");
    const before = exchangesFor(spOf("managers"));
    const tokens = await Promise.all(
      Array.from({ length: 1000 }, async () => (await resolver.resolve(http(headers))).credential.token()),
    );
    expect(exchangesFor(spOf("managers")) - before).toBe(1);
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    expect(await whoIs(tokens[0]!.accessToken)).toBe(spOf("managers"));
    expect(resolver.cache.counters().fetches).toBe(1);
  });

  it("keeps the human's IdP subject beside the role's service principal, and never hands out the inbound JWT", async () => {
    const resolver = resolverWith();
    const headers = await federationBearer(workspace, "west_sales");
    const caller = await resolver.resolve(http(headers));
    expect(caller.identity).toMatchObject({
      mode: "federation",
      source: "exchange",
      human: seedUserOfRole(workspace, "west_sales").idpSubject,
      role: "west_sales",
      expectedPrincipal: spOf("west_sales"),
    });
    const token = await caller.credential.token();
    expect(`Bearer ${token.accessToken}`).not.toBe(headers.authorization);
  });

  it("fails closed when the workspace refuses the exchange: an error, never the server's M2M identity", async () => {
    // The west_sales role mapped to the east_sales service principal, whose policies the token does not match.
    const resolver = resolverWith({
      identity: { federation: { roleToServicePrincipal: { west_sales: spOf("east_sales") } } },
    });
    const m2mBefore = workspace.context.counters.tokenRequestTotal("client_credentials");
    const headers = await federationBearer(workspace, "west_sales");
    const caller = await resolver.resolve(http(headers));
    const refused = await caller.credential.token().then(
      () => undefined,
      (err: unknown) => err as { code: string; message: string },
    );
    expect(refused).toMatchObject({ code: "EXCHANGE_POLICY_MISMATCH" });
    expect(JSON.stringify({ ...refused, message: refused!.message })).not.toContain(
      headers.authorization!.slice("Bearer ".length),
    );
    expect(workspace.context.counters.tokenRequestTotal("client_credentials")).toBe(m2mBefore);
    expect(caller.identity.mode).toBe("federation");
  });

  it("refuses a role with no service principal before any exchange", async () => {
    const resolver = resolverWith();
    const before = workspace.context.counters.tokenRequestTotal("token_exchange");
    const token = await workspace.idp.mintToken({ sub: "mallory", role: "interns" });
    await expect(resolver.resolve(http({ authorization: `Bearer ${token}` }))).rejects.toMatchObject({
      code: "ROLE_UNMAPPED",
    });
    const noRole = await workspace.idp.mintToken({ sub: "ghost", email: "ghost@example.com" });
    await expect(resolver.resolve(http({ authorization: `Bearer ${noRole}` }))).rejects.toMatchObject({
      code: "ROLE_UNMAPPED",
    });
    const inherited = await workspace.idp.mintToken({ sub: "mallory", role: "constructor" });
    await expect(resolver.resolve(http({ authorization: `Bearer ${inherited}` }))).rejects.toMatchObject({
      code: "ROLE_UNMAPPED",
    });
    expect(workspace.context.counters.tokenRequestTotal("token_exchange")).toBe(before);
  });
});

describe("Federation with a per-role IdP client-credentials token as subject token", () => {
  it("exchanges the IdP client's token for the role's service principal, once for many humans of the role", async () => {
    const resolver = resolverWith(idpClientOverrides());
    const before = exchangesFor(spOf("finance"));
    const humans = ["frank.finance", "fiona.finance", "fred.finance"];
    const tokens = await Promise.all(
      humans.flatMap((sub) =>
        Array.from({ length: 20 }, async () => {
          const jwt = await workspace.idp.mintToken({ sub, role: "finance" });
          const caller = await resolver.resolve(http({ authorization: `Bearer ${jwt}` }));
          expect(caller.identity.human).toBe(sub);
          return caller.credential.token();
        }),
      ),
    );
    expect(exchangesFor(spOf("finance")) - before).toBe(1);
    expect(await whoIs(tokens[0]!.accessToken)).toBe(spOf("finance"));
  });

  it("re-exchanges with a fresh subject token once the cached one is inside the refresh margin", async () => {
    // A margin as long as the tokens live makes every token() call due, as a long call near expiry would be.
    const resolver = resolverWith(idpClientOverrides({ identity: { tokenCache: { refreshMarginS: 3600 } } }));
    const caller = await resolver.resolve(
      http({ authorization: `Bearer ${await workspace.idp.mintToken({ sub: "ada.admin", role: "admin" })}` }),
    );
    const before = exchangesFor(spOf("admin"));
    const first = await caller.credential.token();
    const fetchesAfterFirst = resolver.cache.counters().fetches;
    const second = await caller.credential.token();
    expect(exchangesFor(spOf("admin")) - before).toBe(2);
    // The cache fetched twice for the second call: the exchange and, before it, a fresh IdP client token to exchange.
    expect(resolver.cache.counters().fetches - fetchesAfterFirst).toBe(2);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(await whoIs(second.accessToken)).toBe(spOf("admin"));
  });

  it("refuses a role that has no IdP client before any exchange", async () => {
    const overrides = idpClientOverrides() as { identity: { federation: { issuers: { idpClients: object }[] } } };
    const { executive: _executive, ...others } = overrides.identity.federation.issuers[0]!.idpClients as Record<
      string,
      unknown
    >;
    overrides.identity.federation.issuers[0]!.idpClients = others;
    const resolver = resolverWith(overrides);
    const before = workspace.context.counters.tokenRequestTotal("token_exchange");
    const jwt = await workspace.idp.mintToken({ sub: "erin.exec", role: "executive" });
    await expect(resolver.resolve(http({ authorization: `Bearer ${jwt}` }))).rejects.toMatchObject({
      code: "ROLE_UNMAPPED",
    });
    expect(workspace.context.counters.tokenRequestTotal("token_exchange")).toBe(before);
  });
});

describe("IdP signing keys", () => {
  it("discovers the JWKS from the issuer's metadata when none is configured", async () => {
    const base = embeddedConfigBase(
      workspace.context.seed,
      workspace.baseUrl,
      workspace.idp.issuer,
      workspace.idp.jwksUri,
    ) as { identity: { federation: { issuers: Record<string, unknown>[] } } };
    const { jwksUri: _configured, ...issuer } = base.identity.federation.issuers[0]!;
    const resolver = resolverWith({ identity: { federation: { issuers: [issuer] } } });
    const caller = await resolver.resolve(http(await federationBearer(workspace, "finance")));
    expect(caller.identity.expectedPrincipal).toBe(spOf("finance"));
  });

  it("picks up a rotated key without restart", async () => {
    const resolver = resolverWith({ identity: { federation: { jwks: { cooldownMs: 0 } } } });
    await resolver.resolve(http(await federationBearer(workspace, "east_sales")));
    const oldKid = workspace.idp.currentKid();
    const newKid = await workspace.idp.rotateKeys();
    expect(newKid).not.toBe(oldKid);
    const caller = await resolver.resolve(http(await federationBearer(workspace, "east_sales")));
    expect(caller.identity.role).toBe("east_sales");
  });

  it("keeps verifying with keys already fetched while the JWKS endpoint is down, and refuses unknown keys", async () => {
    // Keys go stale after 1 ms of the resolver's clock, so each verification below tries the (down) endpoint first.
    const clock = new FakeClock(Date.now());
    const resolver = resolverWith({ identity: { federation: { jwks: { cooldownMs: 0, cacheMaxAgeMs: 1 } } } }, () =>
      clock.now(),
    );
    await resolver.resolve(http(await federationBearer(workspace, "west_sales")));
    workspace.idp.setJwksAvailable(false);
    try {
      await clock.advance(1);
      const fetchesBefore = workspace.idp.jwksFetchCount();
      const caller = await resolver.resolve(http(await federationBearer(workspace, "executive")));
      expect(caller.identity.role).toBe("executive");
      expect(workspace.idp.jwksFetchCount()).toBeGreaterThan(fetchesBefore);
      await workspace.idp.rotateKeys();
      await clock.advance(1);
      await expect(resolver.resolve(http(await federationBearer(workspace, "executive")))).rejects.toMatchObject({
        code: "TOKEN_INVALID",
      });
    } finally {
      workspace.idp.setJwksAvailable(true);
    }
  });
});
