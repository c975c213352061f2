import { SignJWT, decodeJwt, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EntraLikeIssuer } from "../../emulator/entra/issuer.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { merge } from "../../src/config/load.js";
import { SERVER_APP, idpOboOverrides, startTrustedEntra } from "../support/entra.js";
import { tokenExchangesFor } from "../support/federation-seed.js";
import { localConfigBase, localResolver } from "../support/local-config.js";
import { currentUserOf } from "../support/sql-workspace.js";

/** The per-user patterns under attack: forged subjects, wrong audiences, and one user's token offered for another. */
let workspace: LocalWorkspace;
let entra: EntraLikeIssuer;

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
  entra = await startTrustedEntra(workspace);
});
afterAll(async () => {
  await workspace?.close();
  await entra?.close();
});

const WENDY = "wendy.west@example.com";
const EVAN = "evan.east@example.com";
const http = (token: string) => ({ transport: "http" as const, headers: { authorization: `Bearer ${token}` } });
const base = () => localConfigBase(workspace) as { identity: { federation: { issuers: Record<string, unknown>[] } } };
/** Both per-user patterns on one server: the local IdP's users federated to themselves, and the Entra-like tenant. */
const resolver = () =>
  localResolver(
    workspace,
    merge(
      { identity: { federation: { issuers: [{ ...base().identity.federation.issuers[0], exchangeFor: "user" }] } } },
      idpOboOverrides(entra),
    ),
  );

/** A token with the trusted issuer's name and current key id, signed by a key the issuer never published. */
async function forged(claims: Record<string, unknown>, kid: string): Promise<string> {
  const { privateKey } = await generateKeyPair("RS256");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(privateKey);
}

const currentUser = (accessToken: string) => currentUserOf(workspace, accessToken);

describe("forged subject", () => {
  it("Federation to the user: a token naming another user, signed by a key the IdP never published, is refused before any exchange", async () => {
    const before = tokenExchangesFor(workspace, WENDY);
    const token = await forged(
      {
        iss: workspace.idp.issuer,
        sub: "mallory",
        email: WENDY,
        aud: workspace.context.seed.workspace.federationAudience,
      },
      workspace.idp.currentKid(),
    );
    await expect(resolver().resolve(http(token))).rejects.toMatchObject({ code: "TOKEN_INVALID" });
    expect(tokenExchangesFor(workspace, WENDY)).toBe(before);
  });

  it("IdP on-behalf-of: a token naming another user, with the tenant's issuer but a foreign key, never reaches the IdP", async () => {
    const genuine = decodeJwt(await entra.userToken({ user: EVAN, audience: SERVER_APP.clientId }));
    const before = entra.onBehalfOfCount(WENDY);
    const token = await forged({ ...genuine, preferred_username: WENDY, iat: undefined, exp: undefined }, "any-kid");
    await expect(resolver().resolve(http(token))).rejects.toMatchObject({ code: "TOKEN_INVALID" });
    expect(entra.onBehalfOfCount(WENDY)).toBe(before);
  });
});

describe("wrong audience", () => {
  it("Federation to the user: a genuine IdP token for another audience is refused", async () => {
    const token = await workspace.idp.mintToken({ sub: "wendy.west", email: WENDY, aud: "some-other-api" });
    await expect(resolver().resolve(http(token))).rejects.toMatchObject({ code: "TOKEN_INVALID" });
  });

  it("IdP on-behalf-of: a genuine tenant token issued to another app is refused", async () => {
    const token = await entra.userToken({ user: WENDY, audience: "another-app" });
    await expect(resolver().resolve(http(token))).rejects.toMatchObject({ code: "TOKEN_INVALID" });
  });

  it("IdP on-behalf-of: the exchanged Azure Databricks token itself is not accepted as a caller's token", async () => {
    const caller = await resolver().resolve(
      http(await entra.userToken({ user: WENDY, audience: SERVER_APP.clientId })),
    );
    const exchanged = await caller.credential.token();
    await expect(resolver().resolve(http(exchanged.accessToken))).rejects.toMatchObject({ code: "TOKEN_INVALID" });
  });
});

describe("one user's token is never used for another", () => {
  it("two users of each pattern at once, on one server: each workspace token is its own user's", async () => {
    const server = resolver();
    const subjects = [
      [WENDY, () => workspace.idp.mintToken({ sub: "wendy.west", email: WENDY })],
      [EVAN, () => workspace.idp.mintToken({ sub: "evan.east", email: EVAN })],
      [WENDY, () => entra.userToken({ user: WENDY, audience: SERVER_APP.clientId })],
      [EVAN, () => entra.userToken({ user: EVAN, audience: SERVER_APP.clientId })],
    ] as const;
    const tokens = await Promise.all(subjects.map(async ([, mint]) => mint()));
    const rounds = await Promise.all(
      Array.from({ length: 20 }, (_, i) => i % subjects.length).map(async (i) => {
        const caller = await server.resolve(http(tokens[i]!));
        return { expected: subjects[i]![0], human: caller.identity.human, token: await caller.credential.token() };
      }),
    );
    for (const round of rounds) expect(round.human).toBe(round.expected);
    const seen = new Map<string, string>();
    for (const round of rounds) {
      const owner = seen.get(round.token.accessToken);
      if (owner === undefined) seen.set(round.token.accessToken, String(await currentUser(round.token.accessToken)));
      expect(seen.get(round.token.accessToken)).toBe(round.expected);
    }
    expect(seen.size).toBe(subjects.length);
  });
});
