import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { federationBearer } from "../support/mcp-clients.js";
import { rpc, toolAnswer, toolCall } from "../security/support.js";
import { waitForAudit, type AuditRow } from "../support/audit-table.js";

let stack: TestStack;
let admin: Record<string, string>;

beforeAll(async () => {
  stack = await startTestStack();
  admin = await federationBearer(stack.workspace, "admin");
});
afterAll(async () => {
  await stack?.stop();
});

/**
 * Arguments of just under 1 MiB made of `"`: 950 strings of 500 quotes, each under the per-string cut, so per-string
 * redaction keeps nearly all of it, and every quote doubles twice on its way into the INSERT.
 */
const QUOTES = { fresh: Array.from({ length: 19 }, () => Array.from({ length: 50 }, () => '"'.repeat(500))) };

async function spoolDepth(): Promise<number> {
  const text = await stack.app.metrics!.text();
  return Number(/^mcp_audit_spool_depth (\d+)$/m.exec(text)?.[1]);
}

describe("calls whose arguments are ~1 MiB of quotes", () => {
  it("cannot stop the audit trail: later calls reach the table, the spool empties, the big calls keep a digest", async () => {
    // The table is rate limiting the audit writer for a moment, so the big records pile up into one batch.
    const writer = stack.workspace.context.seed.servicePrincipals.find((sp) => sp.displayName === "mcp-server-sp")!;
    stack.workspace.faults.add({
      pathPrefix: "/api/2.0/sql/statements",
      principal: writer.applicationId,
      failures: { status: 429, count: 1_000_000 },
    });
    const big = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const answer = toolAnswer(await rpc(stack.mcpUrl, toolCall("check_identity", QUOTES), admin));
        expect(answer.code).toBe("INVALID_ARGUMENT");
        return answer.requestId!;
      }),
    );
    stack.workspace.faults.clear();
    const normal: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const answer = toolAnswer(await rpc(stack.mcpUrl, toolCall("check_identity", {}), admin));
      expect(answer.isError).toBe(false);
      normal.push(answer.requestId!);
    }

    const rows = await waitForAudit(
      stack.workspace,
      (r) => [...big, ...normal].every((id) => r.some((x) => x.request_id === id)),
      30_000,
    );
    const byId = new Map<string, AuditRow>(rows.map((r) => [r.request_id!, r]));
    for (const id of normal) expect(byId.get(id), `normal call ${id}`).toMatchObject({ outcome: "allowed" });

    const digest = createHash("sha256").update(JSON.stringify(QUOTES)).digest("hex");
    for (const id of big) {
      const row = byId.get(id);
      expect(row, `big call ${id}`).toMatchObject({ outcome: "failed", error_code: "INVALID_ARGUMENT" });
      const summary = (JSON.parse(row!.arguments!) as { $summary: { preview: string; sha256: string; bytes: number } })
        .$summary;
      expect(summary.sha256).toBe(digest);
      expect(summary.bytes).toBe(Buffer.byteLength(JSON.stringify(QUOTES)));
      expect(summary.preview.startsWith('{"fresh":[["\\"\\"')).toBe(true);
      expect(Buffer.byteLength(JSON.stringify(row))).toBeLessThan(stack.app.config.audit.maxRecordBytes);
    }
    for (let i = 0; i < 300 && (await spoolDepth()) > 0; i += 1) await new Promise((r) => setTimeout(r, 100));
    expect(await spoolDepth()).toBe(0);
  }, 90_000);
});
