import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { createU2MStrategy } from "../../src/identity/strategies/u2m.js";
import { TokenCache } from "../../src/identity/token-cache.js";
import type { AccessToken } from "../../src/identity/types.js";
import { loginWithBrowser } from "../../src/identity/u2m/browser-login.js";
import { LoginCache } from "../../src/identity/u2m/login-cache.js";
import { FakeClock } from "../support/fake-clock.js";

const USER = "ada.admin@example.com";
const TIMING = { staleMs: 10_000, pollMs: 100 };

let workspace: LocalWorkspace;
let dir: string;
beforeAll(async () => {
  workspace = await startLocalWorkspace({});
  dir = mkdtempSync(join(tmpdir(), "governed-mcp-login-lock-"));
});
afterAll(async () => {
  await workspace?.close();
});

const refreshes = () => workspace.counters.tokenRequests.get(`refresh_token|${USER}`) ?? 0;

/** A saved login (a real refresh token from a PKCE login) whose access token has already expired. */
async function expiredLogin(name: string): Promise<string> {
  const file = join(dir, `${name}.json`);
  const login = await loginWithBrowser({
    host: workspace.baseUrl,
    clientId: "databricks-cli",
    scopes: ["all-apis", "offline_access"],
    openUrl: async (url) => {
      const authorize = new URL(url);
      authorize.searchParams.set("user", USER);
      const res = await fetch(authorize, { redirect: "manual" });
      await fetch(res.headers.get("location")!);
    },
  });
  await new LoginCache(file).put(workspace.baseUrl, {
    clientId: "databricks-cli",
    ...login,
    expiresAt: Math.floor(Date.now() / 1000) - 10,
    user: USER,
  });
  return file;
}

/** One refresher as a separate server process would have it: its own LoginCache and token cache on the shared file. */
function refresher(file: string, clock: FakeClock): () => Promise<AccessToken> {
  const strategy = createU2MStrategy({
    host: workspace.baseUrl,
    loginCache: new LoginCache(file, { clock, lock: TIMING }),
    cache: new TokenCache(16, 60),
    refreshMarginS: 60,
    now: () => clock.now(),
  });
  return async () => (await strategy.resolve({ transport: "stdio", headers: {} })).credential.token();
}

/** Writes a lock file as another holder would have left it. */
function lockHeldBy(file: string, pid: number, acquiredAt: number): void {
  writeFileSync(`${file}.lock`, JSON.stringify({ pid, host: hostname(), acquiredAt, nonce: "someone-else" }));
}

/** The access token the file holds for the local workspace. */
const savedAccessToken = (file: string) =>
  (JSON.parse(readFileSync(file, "utf8")) as { logins: Record<string, { accessToken: string }> }).logins[
    workspace.baseUrl
  ]!.accessToken;

describe("every writer of the login cache holds its lock", () => {
  it("saves a new login only once another writer (a refresher) lets the lock go, never while it holds it", async () => {
    const file = await expiredLogin("login-waits");
    const clock = new FakeClock(Date.now());
    const before = savedAccessToken(file);
    lockHeldBy(file, process.pid, clock.now());
    const login = { clientId: "databricks-cli", accessToken: "new-login", expiresAt: 4_000_000_000, scopes: ["sql"] };
    let saved = false;
    const saving = new LoginCache(file, { clock, lock: TIMING })
      .put(workspace.baseUrl, login)
      .then(() => (saved = true));
    // Either the writer waits for the lock on the clock, or it wrote without it.
    await Promise.race([clock.untilWaiting(1), saving]);
    expect(saved).toBe(false);
    expect(savedAccessToken(file)).toBe(before);
    unlinkSync(`${file}.lock`);
    await clock.advance(TIMING.pollMs);
    await saving;
    expect(savedAccessToken(file)).toBe("new-login");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });
});

describe("the login cache is refreshed by one refresher at a time", () => {
  it("makes exactly one refresh request for two concurrent refreshers; the waiter reuses it, the file stays whole", async () => {
    const file = await expiredLogin("concurrent");
    const clock = new FakeClock(Date.now());
    const before = refreshes();
    const [a, b] = [refresher(file, clock), refresher(file, clock)];
    const pending = [a(), b()];
    // The lock holder refreshes over HTTP; the other waits for the lock on the fake clock, let go only once it is free.
    const first = await Promise.race(pending);
    expect(clock.waiting).toBe(1);
    await clock.advance(TIMING.pollMs);
    const both = await Promise.all(pending);
    expect(refreshes() - before).toBe(1);
    expect(both.map((t) => t.accessToken)).toEqual([first.accessToken, first.accessToken]);
    const saved = JSON.parse(readFileSync(file, "utf8")) as { logins: Record<string, { accessToken: string }> };
    expect(saved.logins[workspace.baseUrl]!.accessToken).toBe(first.accessToken);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it("takes over a lock left by a process that is gone, without waiting", async () => {
    const file = await expiredLogin("dead-holder");
    const clock = new FakeClock(Date.now());
    const gone = spawnSync(process.execPath, ["-e", ""]).pid!;
    lockHeldBy(file, gone, clock.now());
    const before = refreshes();
    await refresher(file, clock)();
    expect(refreshes() - before).toBe(1);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it("waits for a live holder, and takes the lock over once it is held past the stale age on the clock", async () => {
    const file = await expiredLogin("hung-holder");
    const clock = new FakeClock(Date.now());
    lockHeldBy(file, process.pid, clock.now());
    const before = refreshes();
    let done = false;
    const pending = refresher(file, clock)().finally(() => (done = true));
    await clock.advance(TIMING.staleMs);
    expect(done).toBe(false);
    expect(clock.waiting).toBe(1);
    expect(refreshes()).toBe(before);
    await clock.advance(TIMING.pollMs);
    await pending;
    expect(refreshes() - before).toBe(1);
  });
});
