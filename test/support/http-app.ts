import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import type { LocalWorkspace } from "../../emulator/workspace.js";
import { startApp, type App } from "../../src/app.js";
import { merge } from "../../src/config/load.js";

export interface HttpApp {
  app: App;
  mcpUrl: string;
  spoolDir: string;
}

/**
 * The server over HTTP on a free loopback port, against a local workspace already running (another replica, or a
 * server whose configuration names something started after the workspace), with a fresh audit spool.
 */
export async function startHttpApp(
  workspace: LocalWorkspace,
  options: { overrides?: Record<string, unknown>; env?: Record<string, string>; logger?: Logger } = {},
): Promise<HttpApp> {
  const spoolDir = mkdtempSync(join(tmpdir(), "governed-mcp-spool-"));
  const app = await startApp({
    env: { LOG_LEVEL: "silent", ...options.env },
    transport: "http",
    localWorkspace: workspace,
    logger: options.logger ?? pino({ level: "silent" }),
    overrides: merge({ server: { port: 0 }, audit: { spoolDir, flushIntervalMs: 50 } }, options.overrides ?? {}),
  });
  return { app, mcpUrl: `${app.http!.url}${app.config.server.path}`, spoolDir };
}
