import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { federationBearer } from "../support/mcp-clients.js";
import { auditRows, inParallel, rpc, toolAnswer, toolCall, waitForAuditRows, type AuditRow } from "./support.js";
import { recordFigure } from "../reliability/figures.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const FLOOD = 2000;

const refusalsOf = (row: AuditRow) =>
  (JSON.parse(row.arguments ?? "{}") as { refusals?: { count: number; source: string } }).refusals;

describe("a flood of unauthenticated requests", () => {
  it("cannot fill the audit spool or crowd out a bystander: a handful of records whose counts add up to the flood", async () => {
    const bystanderHeaders = await federationBearer(stack.workspace, "managers");
    const before = new Set((await auditRows(stack.workspace)).map((r) => r.record_id));
    const started = Date.now();

    const bystander = { running: true, ids: [] as string[], failed: [] as string[] };
    const bystanderLoop = (async () => {
      while (bystander.running) {
        const answer = toolAnswer(await rpc(stack.mcpUrl, toolCall("check_identity", {}), bystanderHeaders));
        if (answer.isError) bystander.failed.push(answer.text);
        else bystander.ids.push(answer.requestId!);
      }
    })();
    const answers = await inParallel(FLOOD, 32, async (i) =>
      rpc(stack.mcpUrl, toolCall("check_identity", {}), i % 2 ? {} : { authorization: "Bearer not-a-jwt" }),
    );
    bystander.running = false;
    await bystanderLoop;
    const minutes = Math.floor(Date.now() / 60_000) - Math.floor(started / 60_000) + 1;

    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(["UNAUTHENTICATED", "TOKEN_INVALID"]).toContain(toolAnswer(answer).code);
    }
    // Every refusal names the request id of the audit record that counts it.
    const refusalIds = new Set(answers.map((a) => requestIdIn(a.text)));
    expect(bystander.failed).toEqual([]);
    expect(bystander.ids.length).toBeGreaterThan(0);

    await stack.app.refusals!.flush();
    const counted = (rows: AuditRow[]) =>
      rows.filter((r) => !before.has(r.record_id) && refusalsOf(r)).reduce((n, r) => n + refusalsOf(r)!.count, 0);
    const rows = await waitForAuditRows(
      stack.workspace,
      (r) => counted(r) >= FLOOD && bystander.ids.every((id) => r.some((x) => x.request_id === id)),
      30_000,
    );
    const added = rows.filter((r) => !before.has(r.record_id));
    const aggregates = added.filter((r) => refusalsOf(r));
    expect(counted(rows)).toBe(FLOOD);
    // Two codes (no token, a malformed one), at most two records per code and minute.
    expect(aggregates.length).toBeLessThanOrEqual(2 * 2 * minutes);
    expect(new Set(aggregates.map((r) => refusalsOf(r)!.source))).toEqual(new Set(["127.0.0.1"]));
    for (const id of refusalIds) expect(aggregates.some((r) => r.request_id === id)).toBe(true);
    // The bystander's calls: each audited once; nothing else entered the table.
    for (const id of bystander.ids) expect(added.filter((r) => r.request_id === id)).toHaveLength(1);
    expect(added).toHaveLength(aggregates.length + bystander.ids.length);
    recordFigure("anonymous requests in the flood", FLOOD);
    recordFigure("audit records they left", aggregates.length);
    recordFigure("bystander calls served and audited during the flood", bystander.ids.length);
  }, 120_000);
});

function requestIdIn(text: string): string {
  const id = (JSON.parse(text) as { error?: { data?: { request_id?: string } } }).error?.data?.request_id;
  if (!id) throw new Error("refusal names no request id");
  return id;
}
