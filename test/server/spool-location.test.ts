import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { startApp } from "../../src/app.js";

describe("where the audit spool lives, over HTTP outside a container", () => {
  it("defaults to the per-user state directory, and the start-up line says where", async () => {
    const state = mkdtempSync(join(tmpdir(), "governed-mcp-state-"));
    const events: { msg: string; spoolDir?: string }[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString("utf8").trim().split("\n")) events.push(JSON.parse(line));
        done();
      },
    });
    const app = await startApp({
      env: { XDG_STATE_HOME: state, HOME: state, MCP_HANDLE_SECRET: "x".repeat(32) },
      transport: "http",
      logger: pino({ level: "info" }, stream),
      overrides: { server: { port: 0 } },
    });
    try {
      const spoolDir = join(state, "databricks-governed-mcp", "spool");
      expect(app.config.audit.spoolDir).toBe(spoolDir);
      expect(events.find((e) => e.msg === "audit spool directory")?.spoolDir).toBe(spoolDir);
    } finally {
      await app.stop();
    }
  });
});
