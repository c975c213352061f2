import { setTimeout as sleep } from "node:timers/promises";
import { TokenCache, cacheKey } from "../src/identity/token-cache.js";
import { scopesFor } from "../src/policy/scopes.js";
import { ALL_TOOLS } from "../tools/index.js";
import type { RemoteStack } from "./remote-workspace.js";
import { closedLoop } from "./load.js";
import { RSS_TOLERANCE, restingMemory, settledMemory, sustainedMemoryVerdict, type RestingMemory } from "./memory.js";
import { mib, type Figure } from "./stats.js";
import { McpWireClient } from "./wire.js";

const ROLES = ["west_sales", "east_sales", "managers", "executive", "finance", "admin"] as const;

/**
 * Many distinct callers, half Federation (each subject its own exchanged token) and half OBO: the server's heap after a
 * collection as callers pile up, with the workspace in its own process so only the server is weighed. The server's
 * caches are configured to `cacheSize` so the plateau is visible.
 */
export async function measureIdentityScale(
  stack: RemoteStack,
  options: { callers: number; cacheSize: number; settleMs: number },
): Promise<Figure[]> {
  const { seed } = stack;
  const mcp = new McpWireClient(stack.mcpUrl, 64);
  const users = seed.users.map((u) => u.userName);
  const caller = async (i: number) => {
    if (i % 2 === 0) {
      const role = ROLES[(i / 2) % ROLES.length]!;
      const token = await stack.mintIdpToken({ sub: `bench-subject-${i}`, email: `bench-${i}@example.com`, role });
      return `Bearer ${token}`;
    }
    return `Bearer ${await stack.issueToken(users[i % users.length]!, ["all-apis"], 3600)}`;
  };
  const call = async (i: number) => mcp.callTool("check_identity", {}, { authorization: await caller(i) });
  const figures: Figure[] = [];
  try {
    await closedLoop(20, 4, (i) => call(1_000_000 + i));
    // Timers of the last calls (the workspace client's deadlines) lapse before reading.
    const settle = async () => {
      await sleep(options.settleMs);
      await stack.resetCounters();
      return settledMemory();
    };
    const base = await settle();
    const checkpoints: { callers: number; heapUsed: number; rss: number }[] = [];
    // Federated callers are every other one: the cache fills after 2 × cacheSize callers.
    const fillAt = Math.min(options.callers, 2 * options.cacheSize);
    let done = 0;
    let errors = 0;
    for (const target of [fillAt, Math.round((fillAt + options.callers) / 2), options.callers]) {
      if (target <= done) continue;
      const start = done;
      errors += (await closedLoop(target - start, 32, (i) => call(start + i))).errors;
      done = target;
      const m = await settle();
      checkpoints.push({ callers: done, heapUsed: m.heapUsed, rss: m.rss });
    }
    const full = checkpoints[0]!;
    // Steady state: the caches have been full and evicting since `full`; the first evictions' one-time costs (code
    // compiled for the eviction paths, pools sized) fall before `steady` and are shown in the detail.
    const steady = checkpoints.at(-2) ?? full;
    const last = checkpoints.at(-1)!;
    const cached = Math.min(options.cacheSize, Math.ceil(fillAt / 2));
    const perIdentity = (full.heapUsed - base.heapUsed) / cached;
    const growth = last.heapUsed - steady.heapUsed;
    const bounded = growth <= Math.max(2 * 1024 * 1024, 0.25 * (full.heapUsed - base.heapUsed));
    figures.push(
      {
        benchmark: "scale of identities",
        figure: `heap growth from ${steady.callers} to ${last.callers} distinct callers (caches full since ${full.callers}, ${options.cacheSize} each)`,
        measured: mib(growth),
        target: "bounded: ≤ max(2 MiB, 25 % of the growth until the cache filled)",
        pass: bounded && base.collected && errors === 0,
        detail: `heap ${mib(base.heapUsed)} → ${checkpoints.map((c) => `${mib(c.heapUsed)} @${c.callers}`).join(" → ")}; rss ${mib(base.rss)} → ${mib(last.rss)}${base.collected ? "" : " (no --expose-gc: unreliable)"}${errors ? `; ${errors} calls failed` : ""}`,
      },
      {
        benchmark: "scale of identities",
        figure: "heap per cached Federation identity",
        measured: `${Math.round(perIdentity)} B`,
        target: "report",
        detail: `${cached} cached exchanged tokens with their workspace views; OBO callers keep a verified token and a view, both bounded by the same size; the workspace is in its own process`,
      },
      await tokenCacheAlone(stack, Math.min(options.cacheSize, 2000)),
    );
  } finally {
    await mcp.close();
  }
  return figures;
}

/** The token cache alone, filled with real workspace tokens under real keys: heap held per entry. */
async function tokenCacheAlone(stack: RemoteStack, entries: number): Promise<Figure> {
  const sp = stack.seed.servicePrincipals[0]!.applicationId;
  const scopes = scopesFor(ALL_TOOLS);
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  const tokens: string[] = [];
  for (let i = 0; i < entries; i += 1) tokens.push(await stack.issueToken(sp, [...scopes], 3600));
  const tokenBytes = tokens.reduce((n, t) => n + t.length, 0) / entries;
  let cache: TokenCache | undefined = new TokenCache(entries, 60);
  const before = settledMemory();
  for (let i = 0; i < entries; i += 1) {
    const accessToken = tokens[i]!;
    await cache.get(cacheKey("federation", sp, scopes, `bench-subject-${i}|${expiresAt}`), async () => ({
      accessToken,
      expiresAt,
      scopes: [...scopes],
    }));
  }
  const filled = settledMemory();
  const size = cache.size;
  cache = undefined;
  const dropped = settledMemory();
  // The token strings existed before the cache took them; count them once, at their length.
  const perEntry = (filled.heapUsed - Math.min(before.heapUsed, dropped.heapUsed)) / size + tokenBytes;
  return {
    benchmark: "scale of identities",
    figure: "token cache alone: heap per entry",
    measured: `${Math.round(perEntry)} B`,
    target: "report",
    detail: `${size} entries, of which the workspace token is ${Math.round(tokenBytes)} B`,
  };
}

/**
 * Heap and RSS of the server while `calls` calls go round `identities` distinct callers (half Federation, half OBO),
 * each caller coming back `calls / identities` times: once the caches are full and evicting, memory stays flat.
 */
export async function measureSustainedMemory(
  stack: RemoteStack,
  options: { calls: number; identities: number; cacheSize: number; settleMs: number },
): Promise<Figure[]> {
  const users = stack.seed.users.map((u) => u.userName);
  const mcp = new McpWireClient(stack.mcpUrl, 64);
  // Each identity's credential is minted once, as a caller keeps its token between calls.
  const authorizations: string[] = [];
  for (let i = 0; i < options.identities; i += 1) {
    const token =
      i % 2 === 0
        ? await stack.mintIdpToken({
            sub: `sustained-subject-${i}`,
            email: `sustained-${i}@example.com`,
            role: ROLES[(i / 2) % ROLES.length]!,
          })
        : await stack.issueToken(users[i % users.length]!, ["all-apis"], 3600);
    authorizations.push(`Bearer ${token}`);
  }
  const call = (i: number) =>
    mcp.callTool("check_identity", {}, { authorization: authorizations[i % options.identities]! });
  const settle = async () => {
    await sleep(options.settleMs);
    return restingMemory();
  };
  try {
    await closedLoop(20, 4, call);
    const base = await settle();
    const checkpoints: ({ calls: number } & RestingMemory)[] = [];
    let done = 0;
    let errors = 0;
    for (const quarter of [1, 2, 3, 4]) {
      const target = Math.round((options.calls * quarter) / 4);
      const start = done;
      errors += (await closedLoop(target - start, 32, (i) => call(start + i))).errors;
      done = target;
      checkpoints.push({ calls: done, ...(await settle()) });
    }
    const verdict = sustainedMemoryVerdict(base, checkpoints);
    const trail = [base, ...checkpoints]
      .map(
        (c) =>
          `${mib(c.heapUsed)}/${mib(c.heapTotal)}/${mib(c.external)}/${mib(c.rssLessHeapReserve)}/${mib(c.rss)} @${"calls" in c ? c.calls : 0}`,
      )
      .join(" → ");
    return [
      {
        benchmark: "memory under sustained load",
        figure: `heap and external growth over the second half of ${options.calls} calls across ${options.identities} identities; resident memory (less V8's free reserve) at the end over the first half's peak`,
        measured: `heap ${mib(verdict.heapGrowth)}, external ${mib(verdict.externalGrowth)}, resident ${mib(verdict.rssGrowth)}`,
        target: `bounded: heap and external ≤ max(2 MiB, 10 %), resident ≤ ${RSS_TOLERANCE * 100} % over the first half's peak`,
        pass: verdict.bounded && base.collected && errors === 0,
        detail: `heap used/committed, external, RSS less V8's free reserve, RSS: ${trail} (each the median of 5 reads after a full collection; array buffers ${mib(checkpoints.at(-1)!.arrayBuffers)} at the end); caches ${options.cacheSize} each; the bench's client and its ${options.identities} tokens share the process${base.collected ? "" : " (no --expose-gc: unreliable)"}${errors ? `; ${errors} calls failed` : ""}`,
      },
    ];
  } finally {
    await mcp.close();
  }
}
