import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { describeStartFailure } from "../../src/cli/start-failure.js";
import { ConfigError } from "../../src/config/load.js";

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
}

/** The real error Node raises when a second listener takes a port already held. */
async function portInUseError(): Promise<{ error: unknown; port: number }> {
  const holder = createServer();
  await listen(holder, 0);
  const port = (holder.address() as { port: number }).port;
  try {
    await listen(createServer(), port);
    throw new Error("the second listen succeeded");
  } catch (error) {
    return { error, port };
  } finally {
    holder.close();
  }
}

describe("start-up failures", () => {
  it("an unknown flag prints one line naming it and the usage, no stack trace, exit code 2", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "--htp"], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "" },
    });
    expect(run.status).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe("databricks-governed-mcp: Unknown option '--htp'.");
    expect(run.stderr).toContain("usage: databricks-governed-mcp");
    expect(run.stderr).not.toMatch(/ERR_PARSE_ARGS|\n\s+at /);
  });

  it("a port in use names the port and the variable that moves it", async () => {
    const { error, port } = await portInUseError();
    const line = describeStartFailure(error, {});
    expect(line).toBe(
      `port 127.0.0.1:${port} is already in use; set MCP_HTTP_PORT (or --port) to a free port or stop what holds it.`,
    );
  });

  it("a metrics port in use names MCP_METRICS_PORT", async () => {
    const { error, port } = await portInUseError();
    expect(describeStartFailure(error, { MCP_METRICS_PORT: String(port) })).toContain("set MCP_METRICS_PORT");
  });

  it("a configuration error keeps its code and message on one line", () => {
    const err = new ConfigError("DATABRICKS_HOST must be a URL such as https://my-workspace.cloud.databricks.com.");
    expect(describeStartFailure(err, {})).toBe(
      "[CONFIG_INVALID] DATABRICKS_HOST must be a URL such as https://my-workspace.cloud.databricks.com.",
    );
  });

  it("a directory it cannot create names the path and MCP_AUDIT_SPOOL_DIR, on one line", async () => {
    const { mkdirSync, mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    // A file where the spool's parent directory should be: mkdir fails as it would on a read-only path.
    const blocker = join(mkdtempSync(join(tmpdir(), "governed-mcp-blocked-")), "state");
    writeFileSync(blocker, "");
    let error: unknown;
    try {
      mkdirSync(join(blocker, "spool"), { recursive: true });
    } catch (err) {
      error = err;
    }
    const line = describeStartFailure(error, {});
    expect(line).toBe(
      `cannot mkdir ${join(blocker, "spool")} (ENOTDIR); if it is the audit spool, set MCP_AUDIT_SPOOL_DIR to a writable directory.`,
    );
  });
});
