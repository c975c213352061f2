import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp, federationBearer } from "../support/mcp-clients.js";
import { WorkspaceViewCache, type WorkspaceView } from "../../src/identity/workspace-view-cache.js";
import { FakeClock } from "../support/fake-clock.js";

const CURRENT_USER = "SELECT current_user() AS current_user";

describe("check_identity reuses what the workspace said about a credential", () => {
  let stack: TestStack;
  let east: Client;
  let west: Client;
  beforeAll(async () => {
    stack = await startTestStack();
    east = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "east_sales"));
    west = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "west_sales"));
  });
  afterAll(async () => {
    await east?.close();
    await west?.close();
    await stack?.stop();
  });

  const lookups = () => stack.workspace.counters.statements.filter((s) => s.statement === CURRENT_USER).length;
  const check = async (client: Client, args: Record<string, unknown> = {}) => {
    const result = await client.callTool({ name: "check_identity", arguments: args });
    expect(result.isError).toBeFalsy();
    return result.structuredContent as Record<string, unknown>;
  };

  it("asks the workspace once per credential, then answers from memory with the time it asked", async () => {
    const before = lookups();
    const first = await check(east);
    const again = await check(east);
    expect(lookups() - before).toBe(1);
    expect(first).toMatchObject({ role: "east_sales", workspace_view_cached: false, groups: ["east_sales"] });
    expect(again).toMatchObject({ ...first, workspace_view_cached: true });
    expect(again.workspace_view_as_of).toBe(first.workspace_view_as_of);
  });

  it("asks again when told to be fresh", async () => {
    await check(east);
    const before = lookups();
    const fresh = await check(east, { fresh: true });
    expect(lookups() - before).toBe(1);
    expect(fresh.workspace_view_cached).toBe(false);
  });

  it("never answers one credential with another's view", async () => {
    const [e, w] = await Promise.all([check(east), check(west)]);
    expect(e.groups).toEqual(["east_sales"]);
    expect(w.groups).toEqual(["west_sales"]);
    expect(e.workspace_principal).not.toBe(w.workspace_principal);
  });

  it("rejects a fresh flag that is not a boolean", async () => {
    const result = await east.callTool({ name: "check_identity", arguments: { fresh: "yes" } });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain("INVALID_ARGUMENT");
  });
});

describe("check_identity with the view cache off", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ overrides: { identity: { workspaceViewTtlS: 0 } } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("asks the workspace on every call", async () => {
    const client = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "admin"));
    try {
      const before = stack.workspace.counters.statements.filter((s) => s.statement === CURRENT_USER).length;
      for (let i = 0; i < 3; i += 1) {
        const result = await client.callTool({ name: "check_identity", arguments: {} });
        expect(result.structuredContent).toMatchObject({ workspace_view_cached: false });
      }
      const after = stack.workspace.counters.statements.filter((s) => s.statement === CURRENT_USER).length;
      expect(after - before).toBe(3);
    } finally {
      await client.close();
    }
  });
});

describe("WorkspaceViewCache", () => {
  const clock = new FakeClock();
  const view = (principal: string): WorkspaceView => ({ principal, displayName: null, groups: [], observedAt: 1 });
  const token = (accessToken: string, expiresInS = 3600) => ({
    accessToken,
    expiresAt: clock.now() / 1000 + expiresInS,
    scopes: ["sql"],
  });

  it("shares one lookup among concurrent misses of a token", async () => {
    const cache = new WorkspaceViewCache(10, 60_000, clock);
    let calls = 0;
    let answer!: (v: WorkspaceView) => void;
    const lookup = () => {
      calls += 1;
      return new Promise<WorkspaceView>((resolve) => (answer = resolve));
    };
    const t = token("t1");
    const pending = Promise.all(Array.from({ length: 50 }, () => cache.get(t, lookup)));
    answer(view("p"));
    const answers = await pending;
    expect(calls).toBe(1);
    expect(answers.every((a) => a.view.principal === "p" && !a.cached)).toBe(true);
    expect((await cache.get(t, async () => view("p"))).cached).toBe(true);
  });

  it("keeps no failed lookup", async () => {
    const cache = new WorkspaceViewCache(10, 60_000, clock);
    const t = token("t2");
    await expect(cache.get(t, () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    const answer = await cache.get(t, async () => view("q"));
    expect(answer).toEqual({ view: view("q"), cached: false });
  });

  it("keeps nothing past the token's own expiry, nor past its time to live", async () => {
    const expired = new WorkspaceViewCache(10, 60_000, clock);
    const old = token("t3", -5);
    await expired.get(old, async () => view("r"));
    expect((await expired.get(old, async () => view("r"))).cached).toBe(false);

    const brief = new WorkspaceViewCache(10, 30_000, clock);
    const t = token("t4");
    await brief.get(t, async () => view("s"));
    await clock.advance(29_999);
    expect((await brief.get(t, async () => view("s"))).cached).toBe(true);
    await clock.advance(1);
    expect((await brief.get(t, async () => view("s"))).cached).toBe(false);

    const shortLived = token("t5", 10);
    await brief.get(shortLived, async () => view("u"));
    await clock.advance(9_999);
    expect((await brief.get(shortLived, async () => view("u"))).cached).toBe(true);
    await clock.advance(1);
    expect((await brief.get(shortLived, async () => view("u"))).cached).toBe(false);
  });

  it("stays within its bound", async () => {
    const cache = new WorkspaceViewCache(3, 60_000, clock);
    for (let i = 0; i < 10; i += 1) await cache.get(token(`k${i}`), async () => view(`p${i}`));
    expect(cache.size).toBe(3);
  });
});
