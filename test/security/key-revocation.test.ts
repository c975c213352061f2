import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { startApp, type App } from "../../src/app.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { expectRefusalRows, rpc, toolAnswer, toolCall } from "./support.js";
import { recordFigure } from "../reliability/figures.js";

const CACHE_MAX_AGE_MS = 60_000;
let stack: TestStack;
let freshReplica: App | undefined;
/** The server judges inbound tokens on wall time plus however far the test has moved its clock. */
let movedMs = 0;

beforeAll(async () => {
  // Keys are cached for CACHE_MAX_AGE_MS: the window in which a revoked key may still verify is that long, no longer.
  stack = await startTestStack({
    overrides: { identity: { federation: { jwks: { cacheMaxAgeMs: CACHE_MAX_AGE_MS, cooldownMs: 0 } } } },
    identityNow: () => Date.now() + movedMs,
  });
});
afterAll(async () => {
  await freshReplica?.stop();
  await stack?.stop();
});

const call = (url: string, token: string, _label: string) =>
  rpc(url, toolCall("check_identity", {}), { authorization: `Bearer ${token}` });

describe("a token replayed after its IdP key was revoked", () => {
  let token: string;

  it("works before the revocation (and warms the key and exchange caches)", async () => {
    token = await stack.workspace.idp.mintToken({ sub: "ada.admin", role: "admin" });
    const answer = await call(stack.mcpUrl, token, "before-revocation");
    expect(answer.status).toBe(200);
    expect(toolAnswer(answer).isError).toBe(false);
  });

  it("is refused with 401 once the cached key set is older than its max age, and the refusal is audited", async () => {
    await stack.workspace.idp.revokeKey(stack.workspace.idp.currentKid());
    movedMs += CACHE_MAX_AGE_MS;
    const since = Date.now();
    const answer = await call(stack.mcpUrl, token, "replay-after-revocation");
    expect(answer.status).toBe(401);
    expect(toolAnswer(answer).code).toBe("TOKEN_INVALID");
    expect(await expectRefusalRows(stack.workspace, "TOKEN_INVALID", 1, since)).toBe(1);
    recordFigure("revoked-key replays refused", 1);
  });

  it("is refused at once by a replica that never cached the revoked key", async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), "governed-mcp-replica-"));
    freshReplica = await startApp({
      env: {},
      transport: "http",
      localWorkspace: stack.workspace,
      logger: pino({ level: "silent" }),
      overrides: { server: { port: 0 }, audit: { spoolDir, flushIntervalMs: 50 } },
    });
    const answer = await call(`${freshReplica.http!.url}/mcp`, token, "replay-on-fresh-replica");
    expect(answer.status).toBe(401);
    expect(toolAnswer(answer).code).toBe("TOKEN_INVALID");
  });

  it("keeps accepting tokens signed by the key that replaced it", async () => {
    // The local workspace's own federation check refetches the IdP's keys at most once a second of wall time (jose's
    // remote key set takes no clock): wait that second out. Only a lower bound, which load can lengthen, never break.
    await new Promise((r) => setTimeout(r, 1100));
    const fresh = await stack.workspace.idp.mintToken({ sub: "ada.admin", role: "admin" });
    const answer = toolAnswer(await call(stack.mcpUrl, fresh, "after-rotation"));
    expect(answer.isError, answer.text).toBe(false);
  });
});
