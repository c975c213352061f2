import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { auditRows, rpc, toolAnswer, toolCall, waitForAuditRows } from "../security/support.js";
import { recordFigure } from "./figures.js";
import { spawnHttpServer } from "../support/server-process.js";

/** Calls per scenario; `npm run soak` raises it. */
const CALLS = Number(process.env.SOAK_CRASH_CALLS ?? 160);
let workspace: LocalWorkspace;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 10 });
});
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await workspace?.close();
});

/** The server in its own process (killed with the test run), its audit spool in `spoolDir`. */
async function startServer(spoolDir: string): Promise<{ child: ChildProcess; mcpUrl: string }> {
  const { child, url } = await spawnHttpServer(workspace, spoolDir);
  children.add(child);
  child.on("exit", () => children.delete(child));
  return { child, mcpUrl: url };
}

async function stopGracefully(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/**
 * Runs CALLS audited calls, each carrying a unique marker in its arguments, and kills the server with SIGKILL once
 * half have been answered. Returns the markers of the calls that got an answer.
 */
async function loadThenKill(
  run: string,
  mcpUrl: string,
  child: ChildProcess,
): Promise<{ answered: string[]; sent: string[] }> {
  const roles = ["west_sales", "east_sales", "managers", "executive", "finance", "admin"];
  const bearers = await Promise.all(
    roles.map(async (role) => ({
      authorization: `Bearer ${await workspace.idp.mintToken({ sub: `crash-${role}`, role })}`,
    })),
  );
  const answered: string[] = [];
  const sent: string[] = [];
  let killed = false;
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < CALLS && !killed) {
        const i = next++;
        const marker = `m${run}x${i}z`;
        sent.push(marker);
        try {
          const answer = toolAnswer(
            await rpc(
              mcpUrl,
              toolCall("query_knowledge_base", { query: `${marker} discount policy` }),
              bearers[i % bearers.length]!,
            ),
          );
          if (answer.requestId) answered.push(marker);
        } catch {
          // The connection died with the server: no answer, so no promise was made to this caller.
        }
        if (!killed && answered.length >= CALLS / 2) {
          killed = true;
          child.kill("SIGKILL");
        }
      }
    }),
  );
  return { answered, sent };
}

function markerCounts(rows: Record<string, string | null>[], run: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of rows)
    for (const m of (row.arguments ?? "").matchAll(new RegExp(`m${run}x\\d+z`, "g")))
      counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  return counts;
}

describe("kill -9 during a load of audited calls, then restart", () => {
  it.each([
    ["while the audit table refuses writes (everything is in the spool)", "a", true],
    ["while audit writes succeed (a batch may be in the table but not yet acknowledged)", "b", false],
  ])(
    "%s: every answered call has exactly one audit row, none twice",
    async (_label, run, refuseWrites) => {
      const spoolDir = mkdtempSync(join(tmpdir(), "governed-mcp-crash-"));
      if (refuseWrites) workspace.faults.revokeWarehouseUse(workspace.context.seed, "mcp_servers");
      const first = await startServer(spoolDir);
      const exited = new Promise((resolve) => first.child.once("exit", resolve));
      const { answered, sent } = await loadThenKill(run as string, first.mcpUrl, first.child);
      await exited;
      expect(answered.length).toBeGreaterThanOrEqual(CALLS / 2);
      if (refuseWrites) {
        expect([...markerCounts(await auditRows(workspace), run as string).keys()]).toEqual([]);
        workspace.faults.restorePermissions();
      }

      const second = await startServer(spoolDir);
      const rows = await waitForAuditRows(
        workspace,
        (r) => {
          const counts = markerCounts(r, run as string);
          return answered.every((m) => counts.has(m));
        },
        60_000,
      );
      await stopGracefully(second.child);
      const counts = markerCounts(rows, run as string);
      const lost = answered.filter((m) => !counts.has(m));
      const twice = sent.filter((m) => (counts.get(m) ?? 0) > 1);
      recordFigure(`crash safety (${run}): calls answered before kill -9`, answered.length, `${sent.length} sent`);
      recordFigure(`crash safety (${run}): audit records lost`, lost.length);
      recordFigure(`crash safety (${run}): audit records written twice`, twice.length);
      expect(lost).toEqual([]);
      expect(twice).toEqual([]);
    },
    180_000,
  );
});
