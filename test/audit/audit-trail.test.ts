import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp, federationBearer, oboBearer, seedUserOfRole } from "../support/mcp-clients.js";
import { callOrRefusal, textOf } from "../support/results.js";
import { pseudonymFor } from "../../src/audit/pseudonym.js";
import { requestIdOf, waitForAudit, type AuditRow } from "../support/audit-table.js";
import { FakeClock } from "../support/fake-clock.js";

let stack: TestStack;
let admin: Client;
let west: Client;
let olivia: Client;
let adminHuman: unknown;
let westHuman: unknown;
const OLIVIA = "olivia.obo@example.com";
const FAKE_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

/** DESIGN.md: the human of a Federation caller is the IdP's email or subject. */
function humanOf(role: string) {
  const user = seedUserOfRole(stack.workspace, role);
  return expect.toSatisfy((h: unknown) => h === user.userName || h === user.idpSubject);
}

/** The calls of the mixed run, keyed by request id, with what the audit row must say. */
const expected = new Map<string, Record<string, unknown> & { tool: string; statements: number }>();
let cancelledAt = 0;
let rows: AuditRow[] = [];
/** Genie messages advance only when this clock moves: the one message of the run waits until its caller gives up. */
const genieClock = new FakeClock();

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  row: Record<string, unknown>,
  statements = 0,
) {
  const result = await callOrRefusal(client, { name, arguments: args });
  expected.set(requestIdOf(result), { ...row, tool: name, statements });
  return result;
}

beforeAll(async () => {
  stack = await startTestStack({ genieStepDelayMs: 5, genieClock });
  admin = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "admin"));
  west = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "west_sales"));
  olivia = await connectHttp(stack.mcpUrl, await oboBearer(stack.workspace, OLIVIA));
  adminHuman = humanOf("admin");
  westHuman = humanOf("west_sales");
  const westSp = stack.workspace.context.seed.servicePrincipals.find(
    (sp) => sp.displayName === "fed-exchange-sp-west-sales",
  )!;
  const fed = { mode: "federation", credential_source: "exchange" };

  // allowed
  await call(
    west,
    "check_identity",
    {},
    {
      ...fed,
      outcome: "allowed",
      error_code: null,
      role: "west_sales",
      human: westHuman,
      workspace_principal: westSp.applicationId,
      rows_returned: "1",
    },
    1,
  );
  await call(
    admin,
    "query_sales_data",
    { group_by: "region" },
    { ...fed, outcome: "allowed", role: "admin", rows_returned: "3" },
    1,
  );
  await call(
    olivia,
    "query_knowledge_base",
    { query: "discount approval", num_results: 2 },
    { mode: "obo", outcome: "allowed", human: OLIVIA, workspace_principal: OLIVIA, rows_returned: "2" },
  );
  // denied: by the RBAC matrix (with a secret and a long value in the arguments) and by Unity Catalog
  await call(
    west,
    "ask_supervisor",
    { question: "q".repeat(3000), token: FAKE_JWT, note: FAKE_JWT },
    { outcome: "denied", error_code: "TOOL_NOT_ALLOWED", rows_returned: null },
  );
  await call(olivia, "query_audit_log", {}, { mode: "obo", outcome: "denied", error_code: "ACCESS_DENIED" }, 1);
  // failed: bad input, a missing conversation, an upstream rate limit and an unavailable endpoint
  await call(admin, "query_sales_data", { limit: "lots" }, { outcome: "failed", error_code: "INVALID_ARGUMENT" });
  await call(
    admin,
    "genie_query",
    { question: "how many deals", conversation_id: "no-such-conversation" },
    { outcome: "failed", error_code: "NOT_FOUND" },
  );
  stack.workspace.faults.add({
    pathPrefix: "/api/2.0/vector-search",
    failures: { status: 429, count: 1, retryAfterS: 120 },
  });
  await call(admin, "query_knowledge_base", { query: "discount" }, { outcome: "failed", error_code: "RATE_LIMITED" });
  stack.workspace.faults.add({ pathPrefix: "/serving-endpoints", failures: { status: 503, count: 1 } });
  await call(
    admin,
    "ask_supervisor",
    { question: "What is the quarter close process?" },
    { outcome: "failed", error_code: "UPSTREAM_UNAVAILABLE" },
  );
  // cancelled: the client gives up once Genie holds its question (which, on a clock nobody moves, never completes)
  const controller = new AbortController();
  cancelledAt = Date.now();
  const cancelled = admin.callTool({ name: "genie_query", arguments: { question: "how many deals" } }, undefined, {
    signal: controller.signal,
  });
  const ended = cancelled.then(
    () => "answered",
    () => "failed",
  );
  const first = await Promise.race([genieClock.untilWaiting(1).then(() => "Genie holds the question"), ended]);
  expect(first).toBe("Genie holds the question");
  controller.abort();
  await expect(cancelled).rejects.toThrow();

  rows = await waitForAudit(
    stack.workspace,
    (r) =>
      [...expected.keys()].every((id) => r.some((x) => x.request_id === id)) &&
      r.some((x) => x.outcome === "cancelled"),
  );
}, 60_000);
afterAll(async () => {
  await Promise.all([admin, west, olivia].map((c) => c?.close()));
  await stack?.stop();
});

describe("the audit trail after a run of mixed calls", () => {
  it("holds exactly one row per call, with the outcome, error code, mode, human, principal, role and row count", () => {
    for (const [id, want] of expected) {
      const mine = rows.filter((r) => r.request_id === id);
      expect(mine, `${want.tool} ${id}`).toHaveLength(1);
      const { statements: _n, ...fields } = want;
      expect(mine[0]).toMatchObject(fields);
    }
  });

  it("records the cancelled call once, as cancelled, and no call twice", () => {
    const cancelled = rows.filter((r) => r.outcome === "cancelled");
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]).toMatchObject({ tool: "genie_query", error_code: "CANCELLED", human: adminHuman });
    expect(
      Date.parse(cancelled[0]!.event_time!.replace(" ", "T") + (/[Z+]/.test(cancelled[0]!.event_time!) ? "" : "Z")),
    ).toBeGreaterThanOrEqual(cancelledAt - 60_000);
    const ids = rows.map((r) => r.record_id);
    expect(new Set(ids).size).toBe(ids.length);
    const requests = rows.map((r) => r.request_id);
    expect(new Set(requests).size).toBe(requests.length);
  });

  it("lists the statement ids each call caused", () => {
    for (const [id, want] of expected) {
      const row = rows.find((r) => r.request_id === id)!;
      expect(JSON.parse(row.statement_ids!), `${want.tool}`).toHaveLength(want.statements);
    }
  });

  it("records arguments with secrets removed and long values cut", () => {
    const denied = rows.find((r) => r.tool === "ask_supervisor" && r.error_code === "TOOL_NOT_ALLOWED")!;
    const args = JSON.parse(denied.arguments!) as Record<string, string>;
    expect(args.token).toBe("[redacted]");
    expect(args.note).toBe("[redacted]");
    expect(args.question!.length).toBeLessThan(600);
    expect(args.question).toMatch(/…\[cut \d+ chars\]$/);
    expect(JSON.stringify(rows)).not.toContain(FAKE_JWT);
  });

  it("tags every statement a call sent with its request id, tool and the human's pseudonym (never the email)", () => {
    const tagged = stack.workspace.counters.statements.filter((s) => {
      const tags = (s.queryTags ?? []) as { key: string; value: string }[];
      return tags.some((t) => t.key === "request_id" && expected.has(t.value));
    });
    expect(tagged.length).toBe([...expected.values()].reduce((n, e) => n + e.statements, 0));
    for (const s of tagged) {
      const tags = Object.fromEntries(
        ((s.queryTags ?? []) as { key: string; value: string }[]).map((t) => [t.key, t.value]),
      );
      const want = expected.get(tags.request_id!)!;
      expect(tags.tool).toBe(want.tool);
      const row = rows.find((r) => r.request_id === tags.request_id)!;
      // A Federation caller is (issuer, sub): its pseudonym binds the issuer recorded with the row.
      const issuer = (JSON.parse(row.arguments ?? "{}") as { $issuer?: string }).$issuer;
      expect(tags.human).toBe(pseudonymFor(row.human!, issuer === undefined ? {} : { issuer }));
      expect(tags.human).not.toContain("@");
    }
  });

  it("audits a call of an unknown tool whose name holds a NUL, without poisoning the batch", async () => {
    const result = await callOrRefusal(admin, { name: "bad\u0000tool", arguments: { x: "y\u0000z" } });
    expect(result._meta?.error_code).toBe("TOOL_NOT_ALLOWED");
    const id = requestIdOf(result);
    await admin.callTool({ name: "check_identity", arguments: {} });
    const after = await waitForAudit(stack.workspace, (r) => r.some((x) => x.request_id === id));
    expect(after.filter((r) => r.request_id === id)).toMatchObject([
      { tool: "bad\ufffdtool", outcome: "denied", error_code: "TOOL_NOT_ALLOWED" },
    ]);
  });

  it("writes audit rows as the server's own service principal, not as any caller", () => {
    const sp = stack.workspace.context.seed.servicePrincipals.find((s) => s.displayName === "mcp-server-sp")!;
    const inserts = stack.workspace.counters.statements.filter((s) =>
      /^INSERT INTO main\.governance\.mcp_audit/.test(s.statement),
    );
    expect(inserts.length).toBeGreaterThan(0);
    expect(new Set(inserts.map((s) => s.principal))).toEqual(new Set([sp.applicationId]));
  });
});

describe("errors an agent can act on", () => {
  it("RATE_LIMITED carries retry_after_s from the workspace's Retry-After", async () => {
    stack.workspace.faults.add({
      pathPrefix: "/api/2.0/vector-search",
      failures: { status: 429, count: 1, retryAfterS: 90 },
    });
    const result = await admin.callTool({ name: "query_knowledge_base", arguments: { query: "discount" } });
    expect(result.isError).toBe(true);
    expect(result._meta).toMatchObject({ error_code: "RATE_LIMITED", retry_after_s: 90 });
    expect(textOf(result)).toMatch(/^\[RATE_LIMITED\] .*Retry after 90 s\./);
  });

  it("a rate limit shorter than the deadline is waited out and retried, invisibly to the agent", async () => {
    stack.workspace.faults.add({
      pathPrefix: "/api/2.0/vector-search",
      failures: { status: 429, count: 1, retryAfterS: 0 },
    });
    const result = await admin.callTool({ name: "query_knowledge_base", arguments: { query: "discount" } });
    expect(result.isError, textOf(result)).toBeFalsy();
  });

  it("an unhealthy serving endpoint fails only ask_supervisor; the other tools keep serving", async () => {
    stack.workspace.faults.add({ pathPrefix: "/serving-endpoints", failures: { status: 503, count: 2 } });
    const down = await admin.callTool({
      name: "ask_supervisor",
      arguments: { question: "What is the quarter close process?" },
    });
    expect(down._meta?.error_code).toBe("UPSTREAM_UNAVAILABLE");
    const up = await admin.callTool({ name: "query_sales_data", arguments: { limit: 1 } });
    expect(up.isError).toBeFalsy();
    stack.workspace.faults.clear();
  });

  it("SCOPE_MISSING when the caller's token lacks a scope the tool needs (HTTP 403 insufficient_scope), audited as denied", async () => {
    const narrow = await connectHttp(stack.mcpUrl, await oboBearer(stack.workspace, OLIVIA, ["sql"]));
    try {
      await expect(narrow.callTool({ name: "genie_query", arguments: { question: "how many deals" } })).rejects.toThrow(
        /\[SCOPE_MISSING\].*dashboards\.genie/,
      );
      const rows = await waitForAudit(stack.workspace, (r) => r.some((x) => x.error_code === "SCOPE_MISSING"));
      expect(rows.filter((r) => r.error_code === "SCOPE_MISSING")).toMatchObject([
        { outcome: "denied", mode: "obo", human: OLIVIA },
      ]);
    } finally {
      await narrow.close();
    }
  });

  it("ACCESS_DENIED when an admin revokes the role's use of the warehouse; tools that need no warehouse keep serving", async () => {
    stack.workspace.faults.revokeWarehouseUse(stack.workspace.context.seed, "admin");
    try {
      const denied = await admin.callTool({ name: "query_sales_data", arguments: { limit: 1 } });
      expect(denied._meta?.error_code).toBe("ACCESS_DENIED");
      expect(textOf(denied)).toMatch(/^\[ACCESS_DENIED\] .*CAN_USE/);
      const kb = await admin.callTool({ name: "query_knowledge_base", arguments: { query: "discount" } });
      expect(kb.isError).toBeFalsy();
    } finally {
      stack.workspace.faults.restorePermissions();
    }
    const back = await admin.callTool({ name: "query_sales_data", arguments: { limit: 1 } });
    expect(back.isError).toBeFalsy();
  });

  it("QUERY_FAILED when the warehouse fails the statement, or ends it without the caller asking (audited as failed)", async () => {
    // Aimed at the admin role's service principal, so the audit writer's own INSERTs are not hit.
    const principal = stack.workspace.context.seed.servicePrincipals.find(
      (sp) => sp.displayName === "fed-exchange-sp-admin",
    )!.applicationId;
    stack.workspace.faults.add({
      pathPrefix: "/api/2.0/sql/statements",
      principal,
      statements: {
        state: "FAILED",
        count: 1,
        errorCode: "BAD_REQUEST",
        message: "[DIVIDE_BY_ZERO] Division by zero.",
      },
    });
    const failed = await admin.callTool({ name: "query_sales_data", arguments: { limit: 1 } });
    expect(failed._meta?.error_code).toBe("QUERY_FAILED");
    expect(textOf(failed)).toContain("DIVIDE_BY_ZERO");
    stack.workspace.faults.add({
      pathPrefix: "/api/2.0/sql/statements",
      principal,
      statements: { state: "CANCELED", count: 1 },
    });
    const ended = await admin.callTool({ name: "query_sales_data", arguments: { limit: 1 } });
    expect(ended._meta?.error_code).toBe("QUERY_FAILED");
    const id = requestIdOf(ended);
    const rows = await waitForAudit(stack.workspace, (r) => r.some((x) => x.request_id === id));
    expect(rows.find((r) => r.request_id === id)).toMatchObject({ outcome: "failed", error_code: "QUERY_FAILED" });
  });

  it("messages say what happened and what to do, never a stack trace or a token", async () => {
    const results = [
      await olivia.callTool({ name: "query_audit_log", arguments: {} }),
      await admin.callTool({ name: "genie_query", arguments: { question: "x", conversation_id: "nope" } }),
      await callOrRefusal(west, { name: "query_audit_log", arguments: {} }),
    ];
    for (const r of results) {
      const text = textOf(r);
      expect(text).toMatch(/^\[[A-Z_]+\] /);
      expect(text).not.toMatch(/\n\s+at |eyJ[\w-]+\.|Bearer /);
    }
  });

  it("a tool's deadline from configuration (timeouts.*) ends a slow call with TIMEOUT", async () => {
    const slow = await startTestStack({ overrides: { timeouts: { query_knowledge_base: 300 } } });
    try {
      // The search is accepted and never answered: only the deadline can end the call, however loaded the machine.
      slow.workspace.faults.add({ pathPrefix: "/api/2.0/vector-search", stalls: 1 });
      const client = await connectHttp(slow.mcpUrl, await federationBearer(slow.workspace, "admin"));
      const result = await client.callTool({ name: "query_knowledge_base", arguments: { query: "discount" } });
      expect(result._meta?.error_code).toBe("TIMEOUT");
      expect(textOf(result)).toMatch(/^\[TIMEOUT\] .*within/);
      await client.close();
    } finally {
      await slow.stop();
    }
  });
});
