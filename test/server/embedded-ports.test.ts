import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { startApp } from "../../src/app.js";

const hold = () =>
  new Promise<{ server: Server; port: number }>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () =>
      resolve({ server, port: (server.address() as { port: number }).port }),
    );
  });

describe("the embedded local workspace's ports", () => {
  it("when taken, the workspace listens elsewhere and the server says so in a warning naming the variables", async () => {
    const [workspacePort, idpPort] = [await hold(), await hold()];
    const warnings: { msg: string; workspace?: string }[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString("utf8").trim().split("\n")) {
          const event = JSON.parse(line) as { level: number; msg: string; workspace?: string };
          if (event.level === 40) warnings.push(event);
        }
        done();
      },
    });
    const app = await startApp({
      env: {
        MCP_LOCAL_WORKSPACE_PORT: String(workspacePort.port),
        MCP_LOCAL_IDP_PORT: String(idpPort.port),
        MCP_HANDLE_SECRET: "x".repeat(32),
      },
      transport: "http",
      logger: pino({ level: "warn" }, stream),
      overrides: { server: { port: 0 }, audit: { spoolDir: mkdtempSync(join(tmpdir(), "governed-mcp-ports-")) } },
    });
    try {
      expect(new URL(app.localWorkspace!.baseUrl).port).not.toBe(String(workspacePort.port));
      const moved = warnings.find((w) => w.msg.includes("ports were taken"));
      expect(moved?.msg).toContain("MCP_LOCAL_WORKSPACE_PORT");
      expect(moved?.workspace).toBe(app.localWorkspace!.baseUrl);
    } finally {
      await app.stop();
      workspacePort.server.close();
      idpPort.server.close();
    }
  });
});
