import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { startLocalWorkspace, type LocalWorkspace } from "../emulator/workspace.js";
import { startApp, type App } from "../src/app.js";

export interface BenchStack {
  workspace: LocalWorkspace;
  app: App;
  mcpUrl: string;
  stop(): Promise<void>;
}

/** The local workspace and the server over HTTP on loopback port 0, silent, with a throwaway audit spool. */
export async function startBenchStack(
  options: {
    genieStepDelayMs?: number;
    overrides?: Record<string, unknown>;
    workspace?: LocalWorkspace;
    /** Where the audit spool lives (its fsync is on every call's path); the system temp dir by default. */
    spoolRoot?: string;
  } = {},
): Promise<BenchStack> {
  const workspace =
    options.workspace ?? (await startLocalWorkspace({ genieStepDelayMs: options.genieStepDelayMs ?? 150 }));
  const spoolDir = mkdtempSync(join(options.spoolRoot ?? tmpdir(), "governed-mcp-bench-spool-"));
  const app = await startApp({
    env: { LOG_LEVEL: "silent" },
    transport: "http",
    localWorkspace: workspace,
    logger: pino({ level: "silent" }),
    overrides: { server: { port: 0 }, audit: { spoolDir }, ...options.overrides },
  });
  return {
    workspace,
    app,
    mcpUrl: `${app.http!.url}${app.config.server.path}`,
    async stop() {
      await app.stop();
      if (!options.workspace) await workspace.close();
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` against a fresh stack and always stops it. */
export async function withStack<T>(
  options: Parameters<typeof startBenchStack>[0],
  fn: (stack: BenchStack) => Promise<T>,
): Promise<T> {
  const stack = await startBenchStack(options);
  try {
    return await fn(stack);
  } finally {
    await stack.stop();
  }
}
