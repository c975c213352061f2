import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp } from "../../src/app.js";
import { describeStartFailure } from "../../src/cli/start-failure.js";
import { startTestStack, type TestStack } from "../support/server.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe("the HTTP server's own address", () => {
  it("GET / names the service, the MCP endpoint, its metadata and the docs instead of 404", async () => {
    const res = await fetch(`${stack.app.http!.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const body = (await res.json()) as Record<string, string>;
    expect(body.service).toBe("databricks-governed-mcp");
    expect(body.mcp_endpoint).toBe(stack.mcpUrl);
    expect(body.protected_resource_metadata).toBe(
      `${stack.app.http!.url}/.well-known/oauth-protected-resource${stack.app.config.server.path}`,
    );
    expect(body.docs).toContain("docs/");
  });

  it("other unknown paths still answer 404", async () => {
    expect((await fetch(`${stack.app.http!.url}/nothing-here`)).status).toBe(404);
  });

  it("a port already in use fails start-up with an error naming the port and MCP_HTTP_PORT, not an 'error' event", async () => {
    const port = Number(new URL(stack.app.http!.url).port);
    const failure = await startApp({
      env: { LOG_LEVEL: "silent" },
      transport: "http",
      localWorkspace: stack.workspace,
      logger: pino({ level: "silent" }),
      overrides: { server: { port }, audit: { spoolDir: mkdtempSync(join(tmpdir(), "governed-mcp-spool-")) } },
    }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((failure as { code?: string }).code).toBe("EADDRINUSE");
    expect(describeStartFailure(failure, {})).toBe(
      `port 127.0.0.1:${port} is already in use; set MCP_HTTP_PORT (or --port) to a free port or stop what holds it.`,
    );
  });
});
