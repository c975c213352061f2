import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "vitest";
import type { LocalWorkspace } from "../../emulator/workspace.js";
import { UUID } from "./results.js";

/** A reader Unity Catalog lets read the audit table (a member of `admin`). */
const AUDITOR = "ada.admin@example.com";

export type AuditRow = Record<string, string | null>;

/** Every audit row, oldest first, read straight from the workspace as an auditor (not through the server under test). */
export async function readAuditTable(workspace: LocalWorkspace): Promise<AuditRow[]> {
  const { access_token } = await workspace.tokens.issue(AUDITOR, ["sql"], 600);
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
    const url = `${workspace.baseUrl}/api/2.0/sql/statements/${body.statement_id}/result/chunks/${next}`;
    const chunk = (await (await fetch(url, { headers })).json()) as {
      data_array?: (string | null)[][];
      next_chunk_index?: number;
    };
    rows.push(...(chunk.data_array ?? []));
    next = chunk.next_chunk_index;
  }
  return rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i] ?? null])));
}

/** Polls the audit table until `done(rows)` holds (the writer batches asynchronously); returns the last read. */
export async function waitForAudit(
  workspace: LocalWorkspace,
  done: (rows: AuditRow[]) => boolean,
  timeoutMs = 15_000,
): Promise<AuditRow[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const rows = await readAuditTable(workspace);
    if (done(rows) || Date.now() > end) return rows;
    await sleep(100);
  }
}

/** The request id the server returns in a tool result's `_meta`, which keys the call's audit row. */
export function requestIdOf(result: unknown): string {
  const id = (result as { _meta?: { request_id?: unknown } })._meta?.request_id;
  if (typeof id !== "string") throw new Error("tool result carries no _meta.request_id");
  return id;
}

/** The request id a JSON-RPC answer to a tools/call names: in its result's `_meta`, or in its error's data. */
function answeredRequestId(answer: Record<string, unknown>): string {
  const { result, error } = answer as {
    result?: { _meta?: { request_id?: string } };
    error?: { data?: { request_id?: string } };
  };
  const id = result?._meta?.request_id ?? error?.data?.request_id;
  expect(id).toMatch(UUID);
  return id!;
}

/** An audit row without what differs between two equal calls: its own ids, time and duration. */
function comparableRow(row: AuditRow): AuditRow {
  const { record_id, request_id, event_time, latency_ms, statement_ids, ...rest } = row;
  void [record_id, request_id, event_time, latency_ms];
  return { ...rest, statement_ids: statement_ids === null ? null : String(statement_ids).replace(UUID, "s") };
}

/** Both answered calls left exactly one audit row each, and the two rows are the same but for their own ids. */
export async function expectEquivalentAuditRows(
  workspace: LocalWorkspace,
  one: Record<string, unknown>,
  other: Record<string, unknown>,
): Promise<void> {
  const ids = [answeredRequestId(one), answeredRequestId(other)];
  const rows = await waitForAudit(workspace, (all) => ids.every((id) => all.some((row) => row.request_id === id)));
  const [first, second] = ids.map((id) => rows.filter((row) => row.request_id === id));
  expect(first).toHaveLength(1);
  expect(second).toHaveLength(1);
  expect(comparableRow(first![0]!)).toEqual(comparableRow(second![0]!));
}
