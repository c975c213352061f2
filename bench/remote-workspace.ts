import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import pino from "pino";
import { loadSeed } from "../emulator/workspace.js";
import type { Seed } from "../emulator/seed/schema.js";
import type { Placement } from "./placement.js";
import { embeddedConfigBase, localWorkspaceEnvironment } from "../src/config/embedded.js";
import { merge } from "../src/config/load.js";
import type { App } from "../src/app.js";
import { compiledStartApp } from "./compiled.js";

/** The local workspace in its own process (as a real workspace is remote), and the server in this one. */
export interface RemoteStack {
  workspaceUrl: string;
  /** The local workspace's process (its PostgreSQL runs as its children). */
  workspacePid: number;
  mcpUrl: string;
  app: App;
  seed: Seed;
  /** The environment an operator gives a server process to use this workspace (the server's own service principal). */
  serverEnvironment: Record<string, string>;
  /** A workspace token of a service principal, from client credentials at the workspace. */
  tokenOf(displayName: string): Promise<string>;
  /** A user's (or service principal's) workspace token, over the admin routes. */
  issueToken(principal: string, scopes: string[], ttlSeconds: number): Promise<string>;
  /** A JWT of the local IdP, over the admin routes. */
  mintIdpToken(claims: { sub: string; email?: string; role?: string }): Promise<string>;
  resetCounters(): Promise<void>;
  /** Adds (ms > 0) or clears (0) latency on the Statement Execution API, over the admin routes. */
  setStatementLatency(ms: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startRemoteStack(
  options: { spoolRoot?: string; overrides?: Record<string, unknown>; placement?: Placement } = {},
): Promise<RemoteStack> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "emulator/cli.ts", "--port", "0", "--idp-port", "0", "--admin"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`the local workspace exited with ${code}`)));
  });
  const started = JSON.parse(first) as { base_url: string; idp_issuer: string };
  options.placement?.separate(child.pid!);
  const seed = await loadSeed();
  const spoolDir = mkdtempSync(join(options.spoolRoot ?? tmpdir(), "governed-mcp-bench-spool-"));
  const startApp = await compiledStartApp();
  const app = await startApp({
    env: { LOG_LEVEL: "silent", DATABRICKS_HOST: started.base_url },
    transport: "http",
    logger: pino({ level: "silent" }),
    overrides: merge(embeddedConfigBase(seed, started.base_url, started.idp_issuer, `${started.idp_issuer}/jwks`), {
      server: { port: 0 },
      audit: { spoolDir },
      ...options.overrides,
    }),
  });
  const admin = async <T>(path: string, body: unknown): Promise<T> => {
    const res = await fetch(`${started.base_url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path} answered ${res.status}`);
    return (await res.json()) as T;
  };
  return {
    workspaceUrl: started.base_url,
    workspacePid: child.pid!,
    serverEnvironment: localWorkspaceEnvironment(seed, {
      workspaceUrl: started.base_url,
      idpIssuer: started.idp_issuer,
      idpJwksUri: `${started.idp_issuer}/jwks`,
    }),
    mcpUrl: `${app.http!.url}${app.config.server.path}`,
    app,
    seed,
    async issueToken(principal, scopes, ttlSeconds) {
      const body = { principal, scopes, ttl_seconds: ttlSeconds };
      return (await admin<{ access_token: string }>("/__admin/tokens/issue", body)).access_token;
    },
    async mintIdpToken(claims) {
      return (await admin<{ token: string }>("/__admin/idp/mint", claims)).token;
    },
    resetCounters: () => admin("/__admin/counters/reset", {}),
    async tokenOf(displayName) {
      const sp = seed.servicePrincipals.find((s) => s.displayName === displayName)!;
      const res = await fetch(`${started.base_url}/oidc/v1/token`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${Buffer.from(`${sp.applicationId}:${sp.secret}`).toString("base64")}`,
        },
        body: new URLSearchParams({ grant_type: "client_credentials", scope: "all-apis" }),
      });
      const json = (await res.json()) as { access_token?: string };
      if (!json.access_token) throw new Error(`no token for ${displayName}: HTTP ${res.status}`);
      return json.access_token;
    },
    setStatementLatency: (ms) =>
      admin<unknown>(
        "/__admin/faults",
        ms > 0 ? { clear: true, rules: [{ pathPrefix: "/api/2.0/sql/statements", latencyMs: ms }] } : { clear: true },
      ).then(() => undefined),
    async stop() {
      await app.stop();
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once("exit", resolve)));
      options.placement?.release();
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}
