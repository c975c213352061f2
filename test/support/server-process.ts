import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { LocalWorkspace } from "../../emulator/workspace.js";
import { operatorEnvironment } from "./workspace-env.js";

export interface ServerProcess {
  child: ChildProcess;
  /** The MCP endpoint it logged when it started listening. */
  url: string;
  /** Every line it wrote to stderr (its log), as it writes them. */
  lines: string[];
}

/**
 * The server as operators run it: its own process over HTTP on a free port, configured by environment (`env` on top of
 * the operator's settings for `workspace`), its home and audit spool in `home`; resolves once it logs that it listens.
 */
export async function spawnHttpServer(
  workspace: LocalWorkspace,
  home: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "--http"], {
    cwd: process.cwd(),
    env: {
      PATH: process.env.PATH ?? "",
      HOME: home,
      ...operatorEnvironment(workspace),
      MCP_AUDIT_SPOOL_DIR: home,
      MCP_HTTP_PORT: "0",
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    // A bound on a hung start-up only (a busy machine starts slowly), never what a test decides on.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("the server did not start"));
    }, 90_000);
    createInterface({ input: child.stderr! }).on("line", (line) => {
      lines.push(line);
      try {
        const event = JSON.parse(line) as { msg?: string; url?: string };
        if (event.msg === "listening" && event.url) {
          clearTimeout(timer);
          resolve(event.url);
        }
      } catch {
        // Not a log line.
      }
    });
    child.once("exit", (code) => reject(new Error(`the server exited (${code}) before listening`)));
  });
  return { child, url, lines };
}
