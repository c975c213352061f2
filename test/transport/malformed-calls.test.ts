import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { rpc } from "../support/json-rpc.js";
import { federationBearer } from "../support/mcp-clients.js";
import { waitForAudit, type AuditRow } from "../support/audit-table.js";
import { workspaceEnv } from "../server/stdio-env.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** One raw JSON-RPC POST, as a stateless client sends it. */
function post(headers: Record<string, string>, message: unknown) {
  return rpc(stack.mcpUrl, message, headers);
}

type JsonRpcError = { id?: unknown; error: { code: number; message: string; data?: { request_id?: string } } };

/** Rows of one caller (by role or human), once the row of `sentinel` (a request id) is in the table. */
async function rowsUpTo(sentinel: string, of: (row: AuditRow) => boolean): Promise<AuditRow[]> {
  // The trail writes rows in the order they were spooled: once the sentinel's row is in, every earlier one is too.
  const rows = await waitForAudit(stack.workspace, (r) => r.some((row) => row.request_id === sentinel));
  expect(rows.some((row) => row.request_id === sentinel)).toBe(true);
  return rows.filter(of);
}

describe("tools/call requests the protocol layer refuses before any tool runs", () => {
  it("are answered with a JSON-RPC invalid-params error and still leave a denied audit row", async () => {
    const east = await federationBearer(stack.workspace, "east_sales");
    const answers = await Promise.all([
      post(east, {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "query_sales_data", arguments: "WEST" },
      }),
      post(east, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { arguments: {} } }),
      post(east, {
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: { name: "check_identity", arguments: [] },
      }),
      post(east, {
        jsonrpc: "2.0",
        id: 4,
        method: "tools/call",
        params: { name: "genie_query", arguments: {}, _meta: { progressToken: 1.5 } },
      }),
    ]);
    for (const answer of answers.slice(0, 3)) expect(answer.text).toContain("-32602");
    // A progress token that is no integer fails the JSON-RPC envelope itself: refused at the door, still audited.
    expect(answers[3]).toMatchObject({ status: 400, messages: [{ error: { code: -32700 } }] });
    const rows = await waitForAudit(
      stack.workspace,
      (r) => r.filter((row) => row.error_code === "INVALID_ARGUMENT" && row.role === "east_sales").length >= 4,
    );
    const refused = rows.filter((row) => row.error_code === "INVALID_ARGUMENT" && row.role === "east_sales");
    expect(refused.map((r) => r.tool).sort()).toEqual([
      "(malformed tools/call)",
      "check_identity",
      "genie_query",
      "query_sales_data",
    ]);
    expect(refused.every((r) => r.outcome === "denied")).toBe(true);
  });

  it("a task-augmented call (params.task, which this server does not offer) gets -32602 saying to drop params.task, and exactly one denied row", async () => {
    const managers = await federationBearer(stack.workspace, "managers");
    const answer = await post(managers, {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "check_identity", arguments: {}, task: { ttl: 60_000 } },
    });
    expect(answer.status).toBe(200);
    const error = answer.messages[0] as JsonRpcError;
    expect(error).toMatchObject({ id: 7, error: { code: -32602 } });
    expect(error.error.message).toMatch(/^\[INVALID_ARGUMENT\] .*without params\.task/);
    const refusedId = error.error.data!.request_id!;

    const sentinel = await post(managers, {
      jsonrpc: "2.0",
      id: 8,
      method: "tools/call",
      params: { name: "check_identity", arguments: {} },
    });
    const sentinelId = (sentinel.messages[0] as { result: { _meta: { request_id: string } } }).result._meta.request_id;
    const rows = await rowsUpTo(sentinelId, (row) => row.role === "managers");
    expect(rows.map((r) => [r.request_id, r.outcome, r.error_code, r.tool]).sort()).toEqual(
      [
        [refusedId, "denied", "INVALID_ARGUMENT", "check_identity"],
        [sentinelId, "allowed", null, "check_identity"],
      ].sort(),
    );
  });

  it("a tools/call sent as a notification (no id) cannot be answered, yet leaves one denied row", async () => {
    const finance = await federationBearer(stack.workspace, "finance");
    const answer = await post(finance, {
      jsonrpc: "2.0",
      method: "tools/call",
      params: { name: "query_sales_data", arguments: {} },
    });
    expect(answer.status).toBe(202);
    const sentinel = await post(finance, {
      jsonrpc: "2.0",
      id: 9,
      method: "tools/call",
      params: { name: "check_identity", arguments: {} },
    });
    const sentinelId = (sentinel.messages[0] as { result: { _meta: { request_id: string } } }).result._meta.request_id;
    const rows = await rowsUpTo(sentinelId, (row) => row.role === "finance");
    expect(rows.map((r) => [r.outcome, r.error_code, r.tool]).sort()).toEqual([
      ["allowed", null, "check_identity"],
      ["denied", "INVALID_ARGUMENT", "query_sales_data"],
    ]);
  });

  it("a refusal at the door names the audit row's request id in the JSON-RPC error data", async () => {
    const answer = await post({ authorization: "Bearer not-a-jwt" }, { jsonrpc: "2.0", id: 3, method: "tools/list" });
    expect(answer.status).toBe(401);
    const body = JSON.parse(answer.text) as { error: { data: { request_id: string; error_code: string } } };
    expect(body.error.data.error_code).toBe("TOKEN_INVALID");
    const rows = await waitForAudit(stack.workspace, (r) =>
      r.some((row) => row.request_id === body.error.data.request_id),
    );
    expect(rows.filter((row) => row.request_id === body.error.data.request_id)).toHaveLength(1);
  });
});

/** The server as a stdio client starts it, spoken to in raw lines (a careless client's, not the SDK's). */
class RawStdioServer {
  private readonly answers = new Map<unknown, Record<string, unknown>>();
  private readonly waiting = new Map<unknown, (answer: Record<string, unknown>) => void>();
  readonly child: ChildProcess;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "--stdio"], {
      cwd: process.cwd(),
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["pipe", "pipe", "ignore"],
    });
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      const answer = JSON.parse(line) as Record<string, unknown>;
      this.answers.set(answer.id, answer);
      this.waiting.get(answer.id)?.(answer);
    });
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** The answer to request `id` (answers may come in any order); a request left unanswered fails, naming it. */
  answer(id: unknown): Promise<Record<string, unknown>> {
    const known = this.answers.get(id);
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to request ${String(id)}`)), 15_000);
      this.waiting.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
    });
  }

  /** Every answer received so far. */
  all(): Record<string, unknown>[] {
    return [...this.answers.values()];
  }
}

describe("tools/call over stdio", () => {
  let server: RawStdioServer;
  const human = "olivia.obo@example.com";
  beforeAll(async () => {
    const { access_token } = await stack.workspace.tokens.issue(human, ["all-apis"], 3600);
    server = new RawStdioServer(workspaceEnv(stack.workspace, { extra: { DATABRICKS_TOKEN: access_token } }));
    const initialized = (async () => {
      server.send(
        JSON.stringify({
          jsonrpc: "2.0",
          id: "init",
          method: "initialize",
          params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
        }),
      );
      return server.answer("init");
    })();
    expect(await initialized).toMatchObject({ result: { serverInfo: { name: "databricks-governed-mcp" } } });
  }, 60_000);
  afterAll(() => {
    server?.child.kill();
  });

  it("every shape the protocol layer would refuse or drop is answered -32602 with what to change and leaves exactly one denied row", async () => {
    const calls: [id: unknown, message: Record<string, unknown>, says: RegExp][] = [
      ["task", { params: { name: "check_identity", arguments: {}, task: { ttl: 1000 } } }, /without params\.task/],
      ["args", { params: { name: "query_sales_data", arguments: "WEST" } }, /params\.arguments/],
      ["noname", { params: { arguments: {} } }, /params\.name/],
      // The SDK's stdio transport drops these two without any answer: they are no valid JSON-RPC request at all.
      [
        "float-token",
        { params: { name: "genie_query", arguments: {}, _meta: { progressToken: 1.5 } } },
        /progressToken/,
      ],
      ["extra-key", { params: { name: "check_identity", arguments: {} }, extra: true }, /extra/],
    ];
    for (const [id, message] of calls)
      server.send(JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", ...message }));
    // No id: nothing to answer, but the call still reached the server.
    server.send(JSON.stringify({ jsonrpc: "2.0", method: "tools/call", params: { name: "query_audit_log" } }));
    const refusedIds: string[] = [];
    for (const [id, , says] of calls) {
      const answer = (await server.answer(id)) as JsonRpcError;
      expect(answer.error.code, String(id)).toBe(-32602);
      expect(answer.error.message, String(id)).toMatch(/^\[INVALID_ARGUMENT\] /);
      expect(answer.error.message, String(id)).toMatch(says);
      refusedIds.push(answer.error.data!.request_id!);
    }

    server.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: "ok",
        method: "tools/call",
        params: { name: "check_identity", arguments: {} },
      }),
    );
    const ok = (await server.answer("ok")) as { result: { _meta: { request_id: string } } };
    const rows = await rowsUpTo(ok.result._meta.request_id, (row) => row.human === human && row.mode === "pat");
    expect(
      rows
        .filter((r) => r.outcome === "denied")
        .map((r) => r.tool)
        .sort(),
    ).toEqual(
      [
        "check_identity",
        "query_sales_data",
        "(malformed tools/call)",
        "genie_query",
        "check_identity",
        "query_audit_log",
      ].sort(),
    );
    expect(rows.filter((r) => r.outcome === "denied").every((r) => r.error_code === "INVALID_ARGUMENT")).toBe(true);
    for (const id of refusedIds) expect(rows.filter((r) => r.request_id === id)).toHaveLength(1);
    expect(rows.filter((r) => r.outcome === "allowed")).toHaveLength(1);
    // The notification got no answer; every request got exactly one.
    expect(
      server
        .all()
        .map((a) => a.id)
        .sort(),
    ).toEqual(["args", "extra-key", "float-token", "init", "noname", "ok", "task"]);
  });
});
