import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../../emulator/workspace.js";
import { SealedBox } from "../../../src/identity/broker/sealed-box.js";
import { InProcessBrokerStore } from "../../../src/identity/broker/token-store.js";
import { workspaceTokenRequest } from "../../../src/identity/broker/workspace-grants.js";
import { FakeClock } from "../../support/fake-clock.js";
import { appConnectionSignIn, brokerGrants } from "../../support/broker.js";

let workspace: LocalWorkspace;
beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
});
afterAll(async () => {
  await workspace?.close();
});

const REDIRECT = "http://127.0.0.1:40001/oauth/databricks/callback";
const refreshes = (user: string) => workspace.context.counters.tokenRequests.get(`refresh_token|${user}`) ?? 0;

/** A broker's user grants on a fresh in-process store, with a clock the test moves, and one user signed in. */
async function grantsWithSignedIn(user: string) {
  const clock = new FakeClock(Date.now());
  const { code, verifier } = await appConnectionSignIn(workspace, user, REDIRECT);
  const { connection, broker, store, grants } = brokerGrants(workspace, clock);
  const tokens = await workspaceTokenRequest(
    workspace.baseUrl,
    broker,
    { grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: verifier },
    Math.floor(clock.now() / 1000),
  );
  await grants.put("grant-1", { user, ...tokens });
  return { clock, store, grants, tokens, connection };
}

describe("users' workspace tokens kept by the broker", () => {
  it("are sealed at rest: the store holds neither the access nor the refresh token", async () => {
    const { store, tokens } = await grantsWithSignedIn("wendy.west@example.com");
    const raw = store.rawValues().join("\n");
    expect(raw).not.toContain(tokens.accessToken);
    expect(raw).not.toContain(tokens.refreshToken!);
    expect(raw).not.toContain("wendy.west");
  });

  it("are used as they are while fresh, and refreshed once (rotated refresh token kept) when within the margin", async () => {
    const { clock, grants, tokens } = await grantsWithSignedIn("evan.east@example.com");
    const before = refreshes("evan.east@example.com");
    expect((await grants.token("grant-1")).accessToken).toBe(tokens.accessToken);
    clock.advance((tokens.expiresAt - clock.now() / 1000 - 30) * 1000);
    const fresh = await Promise.all(Array.from({ length: 20 }, () => grants.token("grant-1")));
    expect(new Set(fresh.map((t) => t.accessToken)).size).toBe(1);
    expect(fresh[0]!.accessToken).not.toBe(tokens.accessToken);
    expect(refreshes("evan.east@example.com") - before).toBe(1);
    expect((await grants.get("grant-1"))!.refreshToken).not.toBe(tokens.refreshToken);
  });

  it("a refresh the workspace refuses (sign-in revoked there) removes the grant", async () => {
    const { grants, connection } = await grantsWithSignedIn("maria.manager@example.com");
    workspace.context.userGrants!.revoke("maria.manager@example.com", connection.clientId);
    await expect(grants.token("grant-1", { forceRefresh: true })).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
    expect(await grants.get("grant-1")).toBeUndefined();
    await expect(grants.token("grant-1")).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
  });
});

describe("the sealed box", () => {
  it("opens a value only under the name and key it was sealed for", () => {
    const key = randomBytes(32).toString("base64");
    const box = new SealedBox(key);
    const sealed = box.seal("workspace-grant:a", "secret");
    expect(box.open("workspace-grant:a", sealed)).toBe("secret");
    expect(box.open("workspace-grant:b", sealed)).toBeUndefined();
    expect(new SealedBox(randomBytes(32).toString("base64")).open("workspace-grant:a", sealed)).toBeUndefined();
    const altered = Buffer.from(sealed, "base64url");
    altered[altered.length - 1]! ^= 1;
    expect(box.open("workspace-grant:a", altered.toString("base64url"))).toBeUndefined();
  });
});

describe("the in-process store", () => {
  it("never returns an expired record, takes a record once, and sweeps expired records as it is written to", async () => {
    const clock = new FakeClock(Date.now());
    const store = new InProcessBrokerStore(() => clock.now());
    await store.set("code:a", "v", clock.now() + 1000);
    expect(await store.take("code:a")).toBe("v");
    expect(await store.take("code:a")).toBeUndefined();
    for (let i = 0; i < 1000; i += 1) await store.set(`sign-in:${i}`, "v", clock.now() + 1000);
    clock.advance(1001);
    expect(await store.get("sign-in:1")).toBeUndefined();
    for (let i = 0; i < 100; i += 1) await store.set(`later:${i}`, "v", clock.now() + 1000);
    expect(store.size).toBeLessThan(200);
  });
});
