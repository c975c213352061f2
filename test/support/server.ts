import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { startApp, type App } from "../../src/app.js";
import { systemClock, type Clock } from "../../src/clock.js";

export interface TestStack {
  workspace: LocalWorkspace;
  app: App;
  mcpUrl: string;
  spoolDir: string;
  stop(): Promise<void>;
}

/** The local workspace plus the server over HTTP on a free loopback port, with a fresh audit spool. */
export async function startTestStack(
  options: {
    overrides?: Record<string, unknown>;
    genieStepDelayMs?: number;
    /** The clock the local workspace's Genie messages advance on (a fake one holds them until the test moves it). */
    genieClock?: Clock;
    env?: Record<string, string>;
    /** The server's time for inbound tokens and the IdP keys' cache age (the system clock unless given). */
    identityNow?: () => number;
    /** Loopback origin serving the Client ID Metadata Documents of `.test` client_ids (see ClientMetadataServer). */
    clientMetadataDocumentOrigin?: string;
  } = {},
): Promise<TestStack> {
  const workspace = await startLocalWorkspace({
    genieStepDelayMs: options.genieStepDelayMs ?? 20,
    clock: options.genieClock,
    // Statements answer on real time: a test moving Genie's clock counts Genie's sleepers alone.
    statementClock: systemClock,
    clientMetadataDocuments: { testOnlyDocumentOrigin: options.clientMetadataDocumentOrigin },
  });
  const spoolDir = mkdtempSync(join(tmpdir(), "governed-mcp-spool-"));
  const app = await startApp({
    env: { LOG_LEVEL: "silent", ...options.env },
    transport: "http",
    localWorkspace: workspace,
    logger: pino({ level: "silent" }),
    identityNow: options.identityNow,
    overrides: { server: { port: 0 }, audit: { spoolDir, flushIntervalMs: 50 }, ...options.overrides },
  });
  return {
    workspace,
    app,
    mcpUrl: `${app.http!.url}${app.config.server.path}`,
    spoolDir,
    async stop() {
      await app.stop();
      await workspace.close();
    },
  };
}
