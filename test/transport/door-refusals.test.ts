import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { freshLoopbackSource, rpc, type RpcAnswer } from "../support/json-rpc.js";
import { federationBearer } from "../support/mcp-clients.js";
import { waitForAudit, type AuditRow } from "../support/audit-table.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const BAD_VERSION = { "mcp-protocol-version": "2099-01-01" };

const call = (id: number | string, name: string, args: Record<string, unknown> = {}, meta?: unknown) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args, ...(meta === undefined ? {} : { _meta: meta }) },
});
const list = (id: number | string) => ({ jsonrpc: "2.0", id, method: "tools/list", params: {} });

interface RefusalData {
  error_code: string;
  request_id: string;
  request_ids?: string[];
}

/** The JSON-RPC error answering a whole POST. */
function refusalOf(answer: RpcAnswer): { code: number; message: string; data: RefusalData } {
  expect(answer.messages).toHaveLength(1);
  expect(answer.messages[0]).toMatchObject({ jsonrpc: "2.0", id: null });
  return answer.messages[0]!.error as { code: number; message: string; data: RefusalData };
}

/**
 * Every audit row of one role, once a later call of that role is in the table: the trail writes rows in the order
 * they were spooled, and a refusal's rows are spooled before its answer, so nothing earlier is still on its way.
 */
async function rowsOfRole(headers: Record<string, string>, role: string): Promise<AuditRow[]> {
  const answer = await rpc(stack.mcpUrl, call("sentinel", "check_identity"), headers);
  const sentinel = (answer.messages[0] as { result: { _meta: { request_id: string } } }).result._meta.request_id;
  const rows = await waitForAudit(stack.workspace, (r) => r.some((row) => row.request_id === sentinel));
  expect(rows.some((row) => row.request_id === sentinel)).toBe(true);
  return rows.filter((row) => row.role === role && row.request_id !== sentinel);
}

/** Rows as [request id, tool, outcome, code], in request id order (rows written at once land in any order). */
const sorted = (rows: unknown[][]) => rows.sort((a, b) => String(a[0]).localeCompare(String(b[0])));
const summary = (rows: AuditRow[]) => sorted(rows.map((r) => [r.request_id, r.tool, r.outcome, r.error_code]));

describe("an unsupported MCP-Protocol-Version", () => {
  it("leaves one denied row per tools/call of the body, naming the caller, and none for its other messages", async () => {
    const west = await federationBearer(stack.workspace, "west_sales");
    const answer = await rpc(
      stack.mcpUrl,
      [
        call(1, "check_identity"),
        call(2, "query_sales_data", { region: "WEST" }),
        list(3),
        { jsonrpc: "2.0", method: "notifications/initialized" },
      ],
      { ...west, ...BAD_VERSION },
    );
    expect(answer.status).toBe(400);
    const error = refusalOf(answer);
    expect(error.code).toBe(-32600);
    expect(error.message).toMatch(/^Unsupported MCP-Protocol-Version: 2099-01-01; send one of .*2025-06-18/);
    const ids = error.data.request_ids!;
    expect(ids).toHaveLength(2);
    expect(error.data).toMatchObject({ error_code: "INVALID_ARGUMENT", request_id: ids[0] });

    const rows = await rowsOfRole(west, "west_sales");
    expect(summary(rows)).toEqual(
      sorted([
        [ids[0], "check_identity", "denied", "INVALID_ARGUMENT"],
        [ids[1], "query_sales_data", "denied", "INVALID_ARGUMENT"],
      ]),
    );
    // Who asked for what: the Federation caller, and the arguments of the refused call.
    const sales = rows.find((r) => r.request_id === ids[1])!;
    expect(sales.mode).toBe("federation");
    expect(sales.human).toBeTruthy();
    expect(JSON.parse(sales.arguments!)).toMatchObject({ region: "WEST" });
  });

  it("leaves exactly one row for a request that is not a tools/call", async () => {
    const east = await federationBearer(stack.workspace, "east_sales");
    const answer = await rpc(stack.mcpUrl, list(1), { ...east, ...BAD_VERSION });
    expect(answer.status).toBe(400);
    const { data } = refusalOf(answer);
    expect(data.request_ids).toBeUndefined();
    const rows = await rowsOfRole(east, "east_sales");
    expect(summary(rows)).toEqual([[data.request_id, "tools/list", "denied", "INVALID_ARGUMENT"]]);
  });

  it("from a caller without a valid credential gets the 401 challenge that starts sign-in, not a 400", async () => {
    const answer = await rpc(stack.mcpUrl, call(1, "check_identity"), BAD_VERSION, undefined, freshLoopbackSource());
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer resource_metadata="[^"]+"/);
    expect(refusalOf(answer).data.error_code).toBe("UNAUTHENTICATED");
  });
});

describe("a batch refused at the door", () => {
  it("for one invalid message leaves one row per tools/call, each under its own tool name and request id", async () => {
    const managers = await federationBearer(stack.workspace, "managers");
    // A progress token that is no integer fails the JSON-RPC envelope: the whole batch is refused.
    const batch = [
      call(1, "check_identity"),
      call(2, "genie_query", { question: "q" }, { progressToken: 1.5 }),
      list(3),
    ];
    const answer = await rpc(stack.mcpUrl, batch, managers);
    expect(answer.status).toBe(400);
    const error = refusalOf(answer);
    expect(error.code).toBe(-32700);
    const ids = error.data.request_ids!;
    expect(new Set(ids).size).toBe(2);
    const rows = await rowsOfRole(managers, "managers");
    expect(summary(rows)).toEqual(
      sorted([
        [ids[0], "check_identity", "denied", "INVALID_ARGUMENT"],
        [ids[1], "genie_query", "denied", "INVALID_ARGUMENT"],
      ]),
    );
  });

  it("for repeated request ids leaves one row per tools/call", async () => {
    const finance = await federationBearer(stack.workspace, "finance");
    const batch = [call(7, "check_identity"), call(7, "get_region_summary", { region: "EAST" })];
    const answer = await rpc(stack.mcpUrl, batch, finance);
    expect(answer.status).toBe(400);
    const error = refusalOf(answer);
    expect(error.message).toContain("request ids repeat");
    const ids = error.data.request_ids!;
    const rows = await rowsOfRole(finance, "finance");
    expect(summary(rows)).toEqual(
      sorted([
        [ids[0], "check_identity", "denied", "INVALID_ARGUMENT"],
        [ids[1], "get_region_summary", "denied", "INVALID_ARGUMENT"],
      ]),
    );
  });

  it("with no tools/call in it leaves exactly one row, for the batch", async () => {
    const executive = await federationBearer(stack.workspace, "executive");
    const answer = await rpc(stack.mcpUrl, [list(1), list(1)], executive);
    expect(answer.status).toBe(400);
    const { data } = refusalOf(answer);
    expect(data.request_ids).toBeUndefined();
    const rows = await rowsOfRole(executive, "executive");
    expect(summary(rows)).toEqual([[data.request_id, "(batch)", "denied", "INVALID_ARGUMENT"]]);
  });

  it("past the batch limit leaves one row counting its calls, not a row per call", async () => {
    const admin = await federationBearer(stack.workspace, "admin");
    const batch = [...Array.from({ length: 150 }, (_, i) => call(i, "check_identity")), list("l")];
    const answer = await rpc(stack.mcpUrl, batch, admin);
    expect(answer.status).toBe(400);
    const { data } = refusalOf(answer);
    expect(data.request_ids).toBeUndefined();
    const rows = await rowsOfRole(admin, "admin");
    expect(summary(rows)).toEqual([[data.request_id, "(batch)", "denied", "INVALID_ARGUMENT"]]);
    expect(JSON.parse(rows[0]!.arguments!)).toMatchObject({ batch: { messages: 151, tool_calls: 150 } });
  });

  it("from a caller without a valid credential is folded per source, its counts adding up to every call", async () => {
    const source = freshLoopbackSource();
    const batch = [call(1, "check_identity"), call(2, "query_sales_data"), list(3), call(4, "genie_query")];
    const answer = await rpc(stack.mcpUrl, batch, { authorization: "Bearer not-a-jwt" }, undefined, source);
    expect(answer.status).toBe(401);
    const { data } = refusalOf(answer);
    expect(data.error_code).toBe("TOKEN_INVALID");
    const ids = data.request_ids!;
    expect(ids).toHaveLength(3);
    // The first refusal of a window is a record of its own at once; the rest share one, written when it closes.
    await stack.app.refusals!.flush();
    const rows = await waitForAudit(
      stack.workspace,
      (r) => new Set(ids).size === r.filter((row) => ids.includes(row.request_id!)).length,
    );
    const mine = rows.filter((row) => ids.includes(row.request_id!));
    const counts = mine.map(
      (row) => (JSON.parse(row.arguments!) as { refusals: { count: number; source: string } }).refusals,
    );
    expect(counts.reduce((n, r) => n + r.count, 0)).toBe(3);
    expect(counts.every((r) => r.source === source)).toBe(true);
    expect(mine.every((row) => row.mode === "unresolved" && row.error_code === "TOKEN_INVALID")).toBe(true);
    expect(mine.find((row) => row.request_id === ids[0])!.tool).toBe("check_identity");
  });
});
