import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AUDITED_RELAY, RELAY, serverCommand } from "../../bench/stdio.js";
import { StdioWireClient } from "../../bench/wire.js";

const hasTaskset = (() => {
  try {
    execFileSync("taskset", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("the stdio benchmark's server", () => {
  it("runs the compiled server, as operators do", () => {
    const { command, args } = serverCommand(1);
    expect(command).toBe(process.execPath);
    expect(args).toEqual(["bin/databricks-governed-mcp.js", "--stdio"]);
  });

  it.runIf(process.platform === "linux" && hasTaskset)(
    "gets every CPU back rather than the client's CPU it would inherit",
    () => {
      const { command, args } = serverCommand(4);
      expect(command).toBe("taskset");
      expect(args).toEqual(["-c", "0-3", process.execPath, "bin/databricks-governed-mcp.js", "--stdio"]);
    },
  );

  it.runIf(process.platform === "linux" && hasTaskset)("places the bare relay as it places the server", () => {
    expect(serverCommand(4, [RELAY])).toEqual({
      command: "taskset",
      args: ["-c", "0-3", process.execPath, "bench/fixtures/bare-stdio-relay.mjs"],
    });
  });
});

describe("the relay with the audit contract alone", () => {
  it("spools the intent before the statement reaches the workspace and the outcome before it answers", async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), "audited-relay-"));
    const spoolFile = join(spoolDir, "audited-relay.jsonl");
    // The relay creates the file as it starts, before any call.
    const spooled = (): unknown[] =>
      readFileSync(spoolFile, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as unknown);
    let atRequest: unknown[] = [];
    const workspace = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        atRequest = spooled();
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            statement_id: "stmt-1",
            status: { state: "SUCCEEDED" },
            manifest: { schema: { columns: [{ name: "deal_id" }, { name: "amount" }] } },
            result: {
              data_array: [
                ["D-1", "10"],
                ["D-2", "20"],
              ],
            },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => workspace.listen(0, "127.0.0.1", resolve));
    const { port } = workspace.address() as AddressInfo;
    const relay = await StdioWireClient.start(process.execPath, [AUDITED_RELAY], {
      PATH: process.env.PATH ?? "",
      DATABRICKS_TOKEN: "token-not-checked-here",
      RELAY_WORKSPACE_URL: `http://127.0.0.1:${port}`,
      RELAY_STATEMENT_BODY: "{}",
      RELAY_SPOOL_DIR: spoolDir,
    });
    try {
      const result = await relay.callTool("query_sales_data", { account: "Globex" });
      expect(result.structuredContent).toEqual({
        columns: ["deal_id", "amount"],
        rows: [
          ["D-1", "10"],
          ["D-2", "20"],
        ],
        row_count: 2,
      });
      expect(atRequest).toEqual([
        { intent: expect.objectContaining({ tool: "query_sales_data", outcome: "unknown" }) },
      ]);
      const [intent, outcome] = spooled() as [{ intent: { request_id: string } }, { outcome: Record<string, unknown> }];
      expect(outcome.outcome).toMatchObject({
        request_id: intent.intent.request_id,
        outcome: "allowed",
        rows_returned: 2,
        statement_ids: '["stmt-1"]',
      });
    } finally {
      await relay.close();
      await new Promise((resolve) => workspace.close(resolve));
      rmSync(spoolDir, { recursive: true, force: true });
    }
  });
});
