import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { operatorEnvironment } from "../support/workspace-env.js";

let workspace: LocalWorkspace;
beforeAll(async () => {
  workspace = await startLocalWorkspace({});
});
afterAll(async () => {
  await workspace?.close();
});

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "editor", version: "1" } },
};

describe("the stdio server's life", () => {
  it("answers initialize, and a client that closes stdin while the server is still starting stops it (exit 0)", async () => {
    const { access_token } = await workspace.tokens.issue("maria.manager@example.com", ["all-apis"], 3600);
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "--stdio"], {
      env: {
        PATH: process.env.PATH ?? "",
        LOG_LEVEL: "info",
        ...operatorEnvironment(workspace),
        DATABRICKS_TOKEN: access_token,
        MCP_AUDIT_SPOOL_DIR: mkdtempSync(join(tmpdir(), "governed-mcp-lifecycle-")),
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    // Written and closed at once: the client is gone before identity and audit have started.
    child.stdin.end(`${JSON.stringify(INITIALIZE)}\n`);
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(0);
    // Stopped on purpose (audit flushed, connections closed), not merely left with nothing to wait for.
    const events = stderr
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { msg: string; signal?: string });
    expect(events).toContainEqual(expect.objectContaining({ msg: "shutting down", signal: "stdin closed" }));
    const answer = JSON.parse(stdout.split("\n")[0]!) as { id: number; result: { serverInfo: { name: string } } };
    expect(answer).toMatchObject({ id: 1, result: { serverInfo: { name: "databricks-governed-mcp" } } });
  });
});
