import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForAudit, type AuditRow } from "./audit-table.js";
import { closeSourcePools, freshLoopbackSource, rpc, type RpcAnswer } from "./json-rpc.js";
import { startTestStack, type TestStack } from "./server.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await closeSourcePools();
  await stack?.stop();
});

const CALL = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "check_identity", arguments: {} } };

/** The audit record a refusal at the door names in its answer. */
const recordIdOf = (answer: RpcAnswer) =>
  (answer.messages[0]?.error as { data?: { request_id?: string } } | undefined)?.data?.request_id;

/** The peer address a refusal record was counted under. */
const sourceIn = (row: AuditRow | undefined) =>
  (JSON.parse(row?.arguments ?? "{}") as { refusals?: { source?: string } }).refusals?.source;

describe("rpc from a loopback source address", () => {
  it("connects from that address: the server's refusal records name it as the peer, one source apart from another", async () => {
    const [one, two] = [freshLoopbackSource(), freshLoopbackSource()];
    expect(one).not.toBe("127.0.0.1");
    const answers = [
      await rpc(stack.mcpUrl, CALL, {}, undefined, one),
      await rpc(stack.mcpUrl, CALL, {}, undefined, one),
      await rpc(stack.mcpUrl, CALL, {}, undefined, two),
    ];
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401]);
    const ids = answers.map(recordIdOf);
    // The second refusal from `one` may be folded into a record written when its window closes: close it now.
    await stack.app.refusals!.flush();
    const rows = await waitForAudit(stack.workspace, (r) => ids.every((id) => r.some((x) => x.request_id === id)));
    const rowOf = (id: string | undefined) => rows.find((r) => r.request_id === id);
    expect(ids.map((id) => sourceIn(rowOf(id)))).toEqual([one, one, two]);
  });
});
