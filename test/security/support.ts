import { setTimeout as sleep } from "node:timers/promises";
import { Agent, fetch as undiciFetch } from "undici";
import type { LocalWorkspace } from "../../emulator/workspace.js";

export interface RpcAnswer {
  status: number;
  headers: { get(name: string): string | null };
  /** JSON-RPC messages of the answer, from a JSON body or an SSE stream. */
  messages: Record<string, unknown>[];
  text: string;
}

/**
 * Test clients keep idle connections for less than the server's keep-alive (Node's default 5 s), as a well-behaved
 * client does; otherwise a loaded machine can reuse a socket the server is closing and see a reset no server caused.
 */
const clientPool = new Agent({ keepAliveTimeout: 1000, keepAliveMaxTimeout: 1000, connections: 128 });

/** One raw POST to the MCP endpoint, as a hostile or careless client would send it. */
export async function rpc(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<RpcAnswer> {
  const res = await undiciFetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal,
    dispatcher: clientPool,
  });
  const text = await res.text();
  const messages: Record<string, unknown>[] = [];
  if ((res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    for (const line of text.split("\n"))
      if (line.startsWith("data: ")) messages.push(JSON.parse(line.slice(6)) as Record<string, unknown>);
  } else if (text.trim()) {
    try {
      const parsed: unknown = JSON.parse(text);
      messages.push(...((Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[]));
    } catch {
      // Not JSON: the status and text say enough.
    }
  }
  return { status: res.status, headers: res.headers, messages, text };
}

let nextId = 1;
export function toolCall(name: string, args: unknown): Record<string, unknown> {
  return { jsonrpc: "2.0", id: nextId++, method: "tools/call", params: { name, arguments: args } };
}

export interface ToolAnswer {
  isError: boolean;
  code?: string;
  text: string;
  structured?: Record<string, unknown>;
  requestId?: string;
  retryAfterS?: number;
}

/** The tool result in an answer (or the JSON-RPC error as a code), flattened for assertions. */
export function toolAnswer(answer: RpcAnswer): ToolAnswer {
  const message = answer.messages.find((m) => "result" in m || "error" in m);
  if (!message) return { isError: true, code: `HTTP_${answer.status}`, text: answer.text };
  if ("error" in message) {
    const error = message.error as { code: number; message: string };
    const stable = /^\[([A-Z_]+)\]/.exec(error.message)?.[1];
    return { isError: true, code: stable ?? `JSONRPC_${error.code}`, text: error.message };
  }
  const result = message.result as {
    isError?: boolean;
    content?: { text?: string }[];
    structuredContent?: Record<string, unknown>;
    _meta?: { error_code?: string; request_id?: string; retry_after_s?: number };
  };
  return {
    isError: Boolean(result.isError),
    code: result._meta?.error_code,
    text: (result.content ?? []).map((c) => c.text ?? "").join("\n"),
    structured: result.structuredContent,
    requestId: result._meta?.request_id,
    retryAfterS: result._meta?.retry_after_s,
  };
}

export type AuditRow = Record<string, string | null>;

/** Every audit row, read straight from the workspace as an auditor (not through the server under test). */
export async function auditRows(workspace: LocalWorkspace): Promise<AuditRow[]> {
  const { access_token } = await workspace.tokens.issue("ada.admin@example.com", ["sql"], 600);
  const headers = { authorization: `Bearer ${access_token}`, "content-type": "application/json" };
  const res = await fetch(`${workspace.baseUrl}/api/2.0/sql/statements`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      warehouse_id: workspace.context.seed.warehouses[0]!.id,
      statement: `SELECT * FROM ${workspace.context.seed.tables.audit.name} ORDER BY event_time, record_id`,
      wait_timeout: "50s",
    }),
  });
  const body = (await res.json()) as {
    statement_id: string;
    status: { state: string };
    manifest?: { schema: { columns: { name: string }[] } };
    result?: { data_array?: (string | null)[][]; next_chunk_index?: number };
  };
  if (body.status.state !== "SUCCEEDED") throw new Error(`audit read ${JSON.stringify(body.status)}`);
  const names = body.manifest!.schema.columns.map((c) => c.name);
  const rows = [...(body.result?.data_array ?? [])];
  for (let next = body.result?.next_chunk_index; next !== undefined;) {
    const chunk = (await (
      await fetch(`${workspace.baseUrl}/api/2.0/sql/statements/${body.statement_id}/result/chunks/${next}`, {
        headers,
      })
    ).json()) as { data_array?: (string | null)[][]; next_chunk_index?: number };
    rows.push(...(chunk.data_array ?? []));
    next = chunk.next_chunk_index;
  }
  return rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i] ?? null])));
}

/** Polls the audit table until `done(rows)` holds (the writer batches asynchronously); returns the last read. */
export async function waitForAuditRows(
  workspace: LocalWorkspace,
  done: (rows: AuditRow[]) => boolean,
  timeoutMs = 15_000,
): Promise<AuditRow[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const rows = await auditRows(workspace);
    if (done(rows) || Date.now() > end) return rows;
    await sleep(150);
  }
}

/** Runs `tasks` with at most `limit` in flight. */
export async function inParallel<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

/** Audit rows refusing with `code` at the door (no request id reaches a refused caller, so they are counted). */
export async function refusalCount(workspace: LocalWorkspace, code: string): Promise<number> {
  return (await auditRows(workspace)).filter((r) => r.outcome === "denied" && r.error_code === code).length;
}

/** Waits until exactly `expected` refusal rows with `code` exist, then checks no extra one follows. */
export async function expectRefusalRows(workspace: LocalWorkspace, code: string, expected: number): Promise<number> {
  const end = Date.now() + 15_000;
  let count = await refusalCount(workspace, code);
  while (count < expected && Date.now() < end) {
    await sleep(100);
    count = await refusalCount(workspace, code);
  }
  await sleep(200);
  return refusalCount(workspace, code);
}
