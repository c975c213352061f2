import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { startHttpApp, type HttpApp } from "../support/http-app.js";
import { oboBearer } from "../support/mcp-clients.js";

const lines: Record<string, unknown>[] = [];
const text: string[] = [];
const capture = new Writable({
  write(chunk: Buffer, _encoding, done) {
    text.push(chunk.toString("utf8"));
    for (const line of chunk.toString("utf8").trim().split("\n"))
      lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

let workspace: LocalWorkspace;
let server: HttpApp;
beforeAll(async () => {
  workspace = await startLocalWorkspace({});
  server = await startHttpApp(workspace, { logger: pino({ level: "info" }, capture) });
});
afterAll(async () => {
  await server?.app.stop();
  await workspace?.close();
});

const post = (body: unknown, headers: Record<string, string>) =>
  fetch(server.mcpUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify(body),
  });
const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};
const refusals = () => lines.filter((l) => l.msg === "request refused");

describe("refusals at the door are logged, never with the token", () => {
  it("a 401 for a token that does not verify is one warning with its code, status and request id", async () => {
    const secret = "not-a-jwt-but-secret-0123456789";
    const res = await post(initialize, { authorization: `Bearer ${secret}` });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { data: { request_id: string; error_code: string } } };
    const logged = refusals().find((l) => l.requestId === body.error.data.request_id);
    expect(logged).toMatchObject({
      level: 40,
      status: 401,
      errorCode: body.error.data.error_code,
      credential: "bearer",
    });
    expect(text.join("")).not.toContain(secret);
  });

  it("a 403 for a verified caller lacking a scope names the code and the caller, not the token", async () => {
    const headers = await oboBearer(workspace, "olivia.obo@example.com", ["dashboards.genie"]);
    const call = { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "check_identity", arguments: {} } };
    const res = await post(call, headers);
    expect(res.status).toBe(403);
    expect(refusals()).toContainEqual(
      expect.objectContaining({ status: 403, errorCode: "SCOPE_MISSING", principal: "olivia.obo@example.com" }),
    );
    expect(text.join("")).not.toContain(headers.authorization!.slice("Bearer ".length));
  });
});
