import { setTimeout as sleep } from "node:timers/promises";
import type { LocalWorkspace } from "../../emulator/workspace.js";
import { readAuditTable as auditRows } from "../support/audit-table.js";
import type { RpcAnswer } from "../support/json-rpc.js";

export { rpc, type RpcAnswer } from "../support/json-rpc.js";

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
  /** Set when the answer was a JSON-RPC error rather than a tool result. */
  jsonRpcCode?: number;
}

/** The tool result in an answer (or the JSON-RPC error as a code), flattened for assertions. */
export function toolAnswer(answer: RpcAnswer): ToolAnswer {
  const message = answer.messages.find((m) => "result" in m || "error" in m);
  if (!message) return { isError: true, code: `HTTP_${answer.status}`, text: answer.text };
  if ("error" in message) {
    const error = message.error as { code: number; message: string; data?: { request_id?: string } };
    const stable = /^\[([A-Z_]+)\]/.exec(error.message)?.[1];
    return {
      isError: true,
      code: stable ?? `JSONRPC_${error.code}`,
      text: error.message,
      requestId: error.data?.request_id,
      jsonRpcCode: error.code,
    };
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

export {
  readAuditTable as auditRows,
  waitForAudit as waitForAuditRows,
  type AuditRow,
} from "../support/audit-table.js";

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

/**
 * Audit rows refusing with `code` at the door for calls made from `since` on (a clock time taken before the call), so
 * a row of an earlier test still on its way to the table is never counted.
 */
export async function refusalCount(workspace: LocalWorkspace, code: string, since: number): Promise<number> {
  return (await auditRows(workspace)).filter(
    (r) => r.outcome === "denied" && r.error_code === code && Date.parse(r.event_time!) >= since,
  ).length;
}

/** Waits until `expected` refusal rows with `code` made from `since` on exist, then checks no extra one follows. */
export async function expectRefusalRows(
  workspace: LocalWorkspace,
  code: string,
  expected: number,
  since: number,
): Promise<number> {
  const end = Date.now() + 30_000;
  let count = await refusalCount(workspace, code, since);
  while (count < expected && Date.now() < end) {
    await sleep(100);
    count = await refusalCount(workspace, code, since);
  }
  await sleep(200);
  return refusalCount(workspace, code, since);
}
