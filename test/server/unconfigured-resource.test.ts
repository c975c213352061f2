import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { startHttpApp, type HttpApp } from "../support/http-app.js";
import { connectHttp, federationBearer } from "../support/mcp-clients.js";
import { callOrRefusal } from "../support/results.js";
import { operatorEnvironment } from "../support/workspace-env.js";

let workspace: LocalWorkspace;
let server: HttpApp;
const lines: { msg: string; tool?: string }[] = [];
beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 5 });
  const { DATABRICKS_GENIE_SPACE_ID: _unset, ...env } = operatorEnvironment(workspace);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string });
      done();
    },
  });
  server = await startHttpApp(workspace, { env, logger: pino({ level: "info" }, sink) });
}, 60_000);
afterAll(async () => {
  await server?.app.stop();
  await workspace?.close();
});

describe("a workspace without a Genie space configured", () => {
  it("starts, says once which tool it leaves out and what to set, and offers the rest", async () => {
    expect(lines.filter((l) => l.tool === "genie_query").map((l) => l.msg)).toEqual([
      "genie_query is not offered: set DATABRICKS_GENIE_SPACE_ID",
    ]);
    const client = await connectHttp(server.mcpUrl, await federationBearer(workspace, "admin"));
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).not.toContain("genie_query");
      expect(names).toEqual(expect.arrayContaining(["check_identity", "query_sales_data", "get_region_summary"]));
      const refused = await callOrRefusal(client, { name: "genie_query", arguments: { question: "how many deals" } });
      expect(refused).toMatchObject({ jsonRpcCode: -32602, _meta: { error_code: "TOOL_NOT_ALLOWED" } });
    } finally {
      await client.close();
    }
  });
});
