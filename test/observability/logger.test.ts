import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

/** Logs one event carrying a token through createLogger in a fresh process; returns what reached stdout and stderr. */
async function logOnce(
  format: "json" | "pretty",
  extraEnv: Record<string, string> = { NO_COLOR: "1" },
): Promise<{ stdout: string; stderr: string }> {
  const script = `
    import { createLogger } from "./src/observability/logger.ts";
    const log = createLogger("info", ${JSON.stringify(format)});
    log.info({ requestId: "req-1", token: "dapi-very-secret", headers: { authorization: "Bearer eyJ.secret" } }, "tool call");
  `;
  const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    env: { PATH: process.env.PATH ?? "", ...extraEnv },
  });
  return { stdout, stderr };
}

describe("logs", () => {
  it("are one JSON object per line on stderr by default, stdout left to the stdio transport, secrets redacted", async () => {
    const { stdout, stderr } = await logOnce("json");
    expect(stdout).toBe("");
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    const event = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(event).toMatchObject({ msg: "tool call", requestId: "req-1", service: "databricks-governed-mcp" });
    expect(event.token).toBe("[redacted]");
    expect(stderr).not.toContain("very-secret");
    expect(stderr).not.toContain("eyJ.secret");
  });

  it("are human-readable with LOG_FORMAT=pretty, still on stderr and still redacted", async () => {
    const { stdout, stderr } = await logOnce("pretty");
    expect(stdout).toBe("");
    expect(stderr).toContain("tool call");
    expect(stderr).toContain("req-1");
    expect(() => JSON.parse(stderr.trim().split("\n")[0]!)).toThrow();
    expect(stderr).not.toContain("very-secret");
    expect(stderr).not.toContain("eyJ.secret");
  });

  it("LOG_FORMAT=pretty writes no colour codes when stderr is a file or a pipe, not a terminal", async () => {
    const { stderr } = await logOnce("pretty", {});
    expect(stderr).toContain("tool call");
    expect(stderr).not.toContain("\u001b[");
  });
});
