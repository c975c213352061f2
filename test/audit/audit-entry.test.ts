import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditIntent, finishedCall, refusedBeforeTool } from "../../src/audit/audit-entry.js";
import { ERROR_CLASSES, GovernedError, PolicyError, type ErrorCode } from "../../src/errors.js";
import type { CallerIdentity } from "../../src/identity/types.js";
import { QuotaRefusal } from "../../src/quota/quota-gate.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { rpc } from "../support/json-rpc.js";
import { federationBearer } from "../support/mcp-clients.js";
import { waitForAudit, type AuditRow } from "../support/audit-table.js";

const CODES = Object.keys(ERROR_CLASSES) as ErrorCode[];

const federated: CallerIdentity = {
  mode: "federation",
  source: "exchange",
  human: "sub-1",
  issuer: "https://idp.example.com",
  role: "west_sales",
  expectedPrincipal: "sp-west",
  scopes: ["sql"],
};

describe("the audit record's builders", () => {
  it("name the caller the same way for a finished call and for a refusal before any tool ran", () => {
    const intent = auditIntent({ requestId: "r1", tool: "query_sales_data", arguments: { region: "WEST" } }, federated);
    const finished = finishedCall(intent, undefined, { rowsReturned: 3, latencyMs: 12, statementIds: ["s1"] });
    const refused = refusedBeforeTool(intent, "INVALID_ARGUMENT");
    const who = {
      requestId: "r1",
      mode: "federation",
      credentialSource: "exchange",
      human: "sub-1",
      workspacePrincipal: "sp-west",
      role: "west_sales",
      tool: "query_sales_data",
      arguments: { $issuer: "https://idp.example.com", region: "WEST" },
    };
    expect(finished).toEqual({ ...who, outcome: "allowed", rowsReturned: 3, latencyMs: 12, statementIds: ["s1"] });
    expect(refused).toEqual({
      ...who,
      outcome: "denied",
      errorCode: "INVALID_ARGUMENT",
      latencyMs: 0,
      statementIds: [],
    });
  });

  it("name an unverified caller as unresolved, with how its credential came", () => {
    const intent = auditIntent({ requestId: "r2", tool: "check_identity", arguments: {}, credentialSource: "bearer" });
    expect(refusedBeforeTool(intent, "TOKEN_INVALID")).toMatchObject({
      mode: "unresolved",
      credentialSource: "bearer",
      human: undefined,
      outcome: "denied",
    });
  });

  it("give a finished call the outcome of its error code's class, and a denial for any policy refusal", () => {
    const intent = auditIntent({ requestId: "r3", tool: "t", arguments: {} }, federated);
    const measures = { latencyMs: 1, statementIds: [] };
    for (const code of CODES) {
      expect(finishedCall(intent, new GovernedError(code, "m"), measures).outcome).toBe(ERROR_CLASSES[code].outcome);
      expect(finishedCall(intent, new PolicyError(code, "m"), measures).outcome).toBe("denied");
    }
  });

  it("give every refusal before a tool ran a denial, whatever its code", () => {
    const intent = auditIntent({ requestId: "r4", tool: "t", arguments: {} }, federated);
    for (const code of CODES)
      expect(refusedBeforeTool(intent, code)).toMatchObject({ outcome: "denied", errorCode: code });
  });

  it("name the quota limit that fired beside the arguments, whichever builder writes the refusal", () => {
    const intent = auditIntent({ requestId: "r5", tool: "t", arguments: { region: "WEST" } }, federated);
    const refusal = new QuotaRefusal("caller_rate", "3 per minute", 20);
    const quoted = { $issuer: "https://idp.example.com", region: "WEST", $quota: "caller_rate: 3 per minute" };
    const atDoor = refusedBeforeTool(intent, refusal);
    const inCall = finishedCall(intent, refusal, { latencyMs: 1, statementIds: [] });
    for (const entry of [atDoor, inCall]) expect(entry).toMatchObject({ outcome: "denied", errorCode: "RATE_LIMITED" });
    expect(JSON.stringify(atDoor.arguments)).toBe(JSON.stringify(quoted));
    expect(JSON.stringify(inCall.arguments)).toBe(JSON.stringify(quoted));
  });
});

/** Every .ts file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

describe("where an audit record is built", () => {
  it("is src/audit/audit-entry.ts alone: no other module spells an outcome or fits arguments for a row", () => {
    const root = join(import.meta.dirname, "../..");
    const spelled: string[] = [];
    for (const path of sources(join(root, "src"))) {
      const file = relative(root, path);
      // The error table decides each code's outcome; the builder module turns it into rows.
      if (file === "src/errors.ts" || file === "src/audit/audit-entry.ts") continue;
      const text = readFileSync(path, "utf8");
      if (/outcome:\s*["'](allowed|denied|failed|cancelled)["']/.test(text)) spelled.push(`${file}: outcome`);
      if (/\bwithVerifiedIssuer\(/.test(text) && file !== "src/audit/issuer-in-arguments.ts")
        spelled.push(`${file}: arguments`);
    }
    expect(spelled).toEqual([]);
  });
});

describe("audit rows of one caller, whichever path wrote them", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const call = (id: number, name: string, args: unknown = {}) => ({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name, arguments: args },
  });

  /** The request id an answer names: a tool result's `_meta`, or a JSON-RPC error's `data`. */
  const requestIdIn = (message: Record<string, unknown>): string => {
    const result = message.result as { _meta?: { request_id?: string } } | undefined;
    const error = message.error as { data?: { request_id?: string } } | undefined;
    const id = result?._meta?.request_id ?? error?.data?.request_id;
    if (typeof id !== "string") throw new Error(`no request id in ${JSON.stringify(message)}`);
    return id;
  };

  it("share the same columns, with the outcome following the code's class and where the request stopped", async () => {
    const west = await federationBearer(stack.workspace, "west_sales");
    const send = async (message: unknown, headers: Record<string, string> = {}) => {
      const answer = await rpc(stack.mcpUrl, message, { ...west, ...headers });
      return requestIdIn(answer.messages[0]!);
    };
    const paths = {
      door: await send(call(1, "check_identity"), { "mcp-protocol-version": "2099-01-01" }),
      malformed: await send(call(2, "query_sales_data", "WEST")),
      unknownTool: await send(call(3, "no_such_tool")),
      failedInCall: await send(call(4, "query_sales_data", { region: 7 })),
      finished: await send(call(5, "check_identity")),
    };
    const ids = Object.values(paths);
    const rows = await waitForAudit(stack.workspace, (r) => ids.every((id) => r.some((row) => row.request_id === id)));
    const rowOf = (id: string): AuditRow => rows.find((row) => row.request_id === id)!;

    const byPath = Object.fromEntries(Object.entries(paths).map(([path, id]) => [path, rowOf(id)]));
    expect(
      Object.fromEntries(Object.entries(byPath).map(([path, row]) => [path, [row.outcome, row.error_code]])),
    ).toEqual({
      door: ["denied", "INVALID_ARGUMENT"],
      malformed: ["denied", "INVALID_ARGUMENT"],
      unknownTool: ["denied", "TOOL_NOT_ALLOWED"],
      failedInCall: ["failed", "INVALID_ARGUMENT"],
      finished: ["allowed", null],
    });

    // Same columns, and the same caller in them: each path names who asked as the finished call does.
    const who = (row: AuditRow) => [row.mode, row.credential_source, row.human, row.workspace_principal, row.role];
    const finished = byPath.finished!;
    expect(who(finished).every((v) => v !== null)).toBe(true);
    for (const row of Object.values(byPath)) {
      expect(Object.keys(row).sort()).toEqual(Object.keys(finished).sort());
      expect(who(row)).toEqual(who(finished));
      expect(JSON.parse(row.arguments!)).toHaveProperty("$issuer", JSON.parse(finished.arguments!).$issuer);
      expect(row.statement_ids).not.toBeNull();
      expect(row.latency_ms).not.toBeNull();
    }
  }, 60_000);
});
