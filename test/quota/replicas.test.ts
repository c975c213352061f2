import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgresCluster, type PostgresCluster } from "../../emulator/postgres/cluster.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { inParallel, rpc, toolAnswer, toolCall } from "../security/support.js";
import { spawnHttpServer, type ServerProcess } from "../support/server-process.js";

/**
 * Three server processes, configured by environment as operators run them, share one PostgreSQL store that the test
 * crashes (SIGKILL) and starts again. Windows are 60 s from a caller's first call and every caller's calls are made well inside one, so
 * the counts asserted are exact whatever the machine's speed.
 */
const LIMIT = 12;
const REPLICAS = 3;

let workspace: LocalWorkspace;
let cluster: PostgresCluster;
const servers: ServerProcess[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  [workspace, cluster] = await Promise.all([
    startLocalWorkspace({ genieStepDelayMs: 10 }),
    // Commits reach the kernel before they are acknowledged (fsync stays off), so a crash loses no admitted call.
    startPostgresCluster({ settings: { synchronous_commit: "on" } }),
  ]);
  for (let i = 0; i < REPLICAS; i += 1) servers.push(await startServer(cluster.url()));
}, 120_000);

afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  for (const { child } of servers) child.kill("SIGKILL");
  await Promise.all([workspace?.close(), cluster?.stop()]);
});

/** One replica in its own process, counting calls in the shared `store`. */
function startServer(store: string): Promise<ServerProcess> {
  return spawnHttpServer(workspace, mkdtempSync(join(tmpdir(), "governed-mcp-replica-")), {
    MCP_QUOTA_STORE: store,
    MCP_QUOTA_REPLICAS: String(REPLICAS),
    MCP_QUOTA_CALLER_PER_MINUTE: String(LIMIT),
    MCP_QUOTA_CALLER_CONCURRENT: "0",
    MCP_QUOTA_STORE_RETRY_MS: "1000",
    // Generous: this machine may be busy, and a slow store counts as a fault; a crashed store is refused at once.
    MCP_QUOTA_STORE_TIMEOUT_MS: "10000",
  });
}

const bearers = new Map<string, Record<string, string>>();
async function bearer(sub: string): Promise<Record<string, string>> {
  let headers = bearers.get(sub);
  if (!headers) {
    headers = { authorization: `Bearer ${await workspace.idp.mintToken({ sub, role: "west_sales" })}` };
    bearers.set(sub, headers);
  }
  return headers;
}

/** `count` calls of `sub`, spread round-robin over the replicas, 8 in flight; how many were admitted. */
async function admitted(sub: string, count: number): Promise<number> {
  const headers = await bearer(sub);
  const outcomes = await inParallel(count, 8, async (i) => {
    const answer = toolAnswer(await rpc(servers[i % REPLICAS]!.url, toolCall("check_identity", {}), headers));
    if (answer.isError && answer.code !== "RATE_LIMITED") throw new Error(`unexpected ${answer.code}: ${answer.text}`);
    return !answer.isError;
  });
  return outcomes.filter(Boolean).length;
}

async function metric(server: { url: string }, name: string): Promise<number> {
  const text = await (await fetch(`${new URL(server.url).origin}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1]);
}

const logged = (server: { lines: string[] }, msg: string) => server.lines.filter((l) => l.includes(msg)).length;

describe("quotas across three replicas sharing one PostgreSQL store", () => {
  it("admits exactly the per-caller limit in total, callers spread over every replica, a flood beside bystanders", async () => {
    const [flood, ...bystanders] = await Promise.all([
      admitted("replica-flood", 150),
      admitted("replica-bystander-1", 20),
      admitted("replica-bystander-2", 20),
      admitted("replica-bystander-3", 20),
    ]);
    expect(flood).toBe(LIMIT);
    expect(bystanders).toEqual([LIMIT, LIMIT, LIMIT]);
  }, 120_000);

  it("with the store crashed, each replica keeps its share; restarted, counting resumes in the store, nothing unhandled", async () => {
    // Half the limit, counted in the store.
    expect(await admitted("replica-outage", LIMIT / 2)).toBe(LIMIT / 2);

    await cluster.kill();
    // Never unlimited: each replica admits its share (12 / 3 replicas = 4), counted from zero.
    expect(await admitted("replica-outage", 30)).toBe(REPLICAS * (LIMIT / REPLICAS));
    for (const server of servers) {
      expect(logged(server, "quota store unavailable")).toBe(1);
      expect(await metric(server, "mcp_quota_store_local")).toBe(1);
      expect(await metric(server, "mcp_quota_store_fallbacks_total")).toBe(1);
    }

    await cluster.restart();
    // Each replica probes the store again after its retry interval; another caller's calls drive the probes.
    const deadline = Date.now() + 60_000;
    while (servers.some((s) => logged(s, "quota store is back") === 0) && Date.now() < deadline)
      await admitted("replica-probe", REPLICAS);
    for (const server of servers) {
      expect(logged(server, "quota store is back")).toBe(1);
      expect(await metric(server, "mcp_quota_store_local")).toBe(0);
    }
    // The store still holds the six admitted before the outage: six more, whichever replica is asked.
    expect(await admitted("replica-outage", 30)).toBe(LIMIT / 2);
    expect(servers.every((s) => s.child.exitCode === null && s.child.signalCode === null)).toBe(true);
    expect(servers.every((s) => logged(s, "nhandled") === 0)).toBe(true);
    expect(unhandled).toEqual([]);
  }, 120_000);
});
