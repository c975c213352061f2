import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/server.js";
import { federationBearer, oboBearer } from "../support/mcp-clients.js";
import { rpc, toolAnswer, toolCall, waitForAuditRows, type ToolAnswer } from "../security/support.js";
import { recordFigure } from "./figures.js";

const KB = "/api/2.0/vector-search/indexes/";
const STATEMENTS = "/api/2.0/sql/statements";
let stack: TestStack;
let west: Record<string, string>;
let westSp: string;
let serverSp: string;
const answered: string[] = [];
let faultsInjected = 0;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  stack = await startTestStack({
    overrides: {
      // Short enough that a stalled call times out quickly, long enough that a healthy one never meets it under load.
      timeouts: { query_knowledge_base: 5000 },
      identity: { federation: { jwks: { cooldownMs: 0 } } },
    },
  });
  west = await federationBearer(stack.workspace, "west_sales");
  westSp = stack.app.config.identity.federation.roleToServicePrincipal.west_sales!;
  serverSp = stack.app.config.identity.m2m.clientId!;
});
afterEach(() => {
  const injected = stack.workspace.faults.injected;
  faultsInjected = Object.values(injected).reduce((a, b) => a + b, 0);
  stack.workspace.faults.clear();
});
afterAll(async () => {
  await stack?.stop();
  process.off("unhandledRejection", onUnhandled);
  recordFigure("upstream faults injected (workspace rules, resets, stalls, revocations)", faultsInjected);
  recordFigure("upstream faults: unhandled rejections", unhandled.length);
  expect(unhandled).toEqual([]);
});

async function call(tool: string, args: unknown, headers = west): Promise<ToolAnswer> {
  const answer = toolAnswer(await rpc(stack.mcpUrl, toolCall(tool, args), headers));
  if (answer.requestId) answered.push(answer.requestId);
  return answer;
}
const kb = (headers = west) => call("query_knowledge_base", { query: "discount approval" }, headers);
const sales = (headers = west) => call("query_sales_data", { region: "WEST", limit: 5 }, headers);

describe("rate limiting (429)", () => {
  // Calls that must finish go through query_sales_data (60 s deadline): the short knowledge-base deadline here is
  // for the calls that must time out, and a loaded machine must not push a waited-out call past it.
  it("waits out a short Retry-After and answers", async () => {
    stack.workspace.faults.add({
      pathPrefix: STATEMENTS,
      principal: westSp,
      failures: { status: 429, count: 1, retryAfterS: 1 },
    });
    const before = stack.workspace.faults.injected.failures;
    expect((await sales()).isError).toBe(false);
    expect(stack.workspace.faults.injected.failures - before).toBe(1);
  });

  it("answers RATE_LIMITED with retry_after_s when the wait exceeds what the call may spend", async () => {
    stack.workspace.faults.add({ pathPrefix: KB, failures: { status: 429, count: 3, retryAfterS: 120 } });
    const answer = await kb();
    expect(answer).toMatchObject({ isError: true, code: "RATE_LIMITED", retryAfterS: 120 });
    expect(answer.text).toMatch(/Retry after 120 s/);
  });
});

describe("unavailable upstream (503) and connection resets", () => {
  it("retries a read through a 503 burst and answers", async () => {
    stack.workspace.faults.add({ pathPrefix: KB, failures: { status: 503, count: 2 } });
    expect((await kb()).isError).toBe(false);
  });

  it("answers UPSTREAM_UNAVAILABLE for a statement submission that met a 503 (not resent)", async () => {
    stack.workspace.faults.add({ pathPrefix: STATEMENTS, principal: westSp, failures: { status: 503, count: 5 } });
    const before = stack.workspace.faults.injected.failures;
    expect((await sales()).code).toBe("UPSTREAM_UNAVAILABLE");
    expect(stack.workspace.faults.injected.failures - before).toBe(1);
  });

  it("retries a read after a connection reset and answers", async () => {
    stack.workspace.faults.add({ pathPrefix: KB, resets: 1 });
    expect((await kb()).isError).toBe(false);
  });

  it("answers UPSTREAM_UNAVAILABLE for a statement submission whose connection was reset", async () => {
    stack.workspace.faults.add({ pathPrefix: STATEMENTS, principal: westSp, resets: 1 });
    expect((await sales()).code).toBe("UPSTREAM_UNAVAILABLE");
  });
});

describe("slow and stalled upstreams", () => {
  it("answers TIMEOUT when the upstream accepts and never answers", async () => {
    stack.workspace.faults.add({ pathPrefix: KB, stalls: 1 });
    expect((await kb()).code).toBe("TIMEOUT");
  });

  it("waits for a slow token endpoint within the deadline", async () => {
    stack.workspace.faults.add({ pathPrefix: "/oidc/v1/token", latencyMs: 300 });
    const fresh = await stack.workspace.idp.mintToken({ sub: "wendy.west", role: "west_sales", ttlSeconds: 1801 });
    expect((await sales({ authorization: `Bearer ${fresh}` })).isError).toBe(false);
  });

  it("answers TIMEOUT at the deadline rather than waiting for a token endpoint slower than it", async () => {
    // Far slower than the 5 s deadline, so the answer comes first however loaded the machine is.
    stack.workspace.faults.add({ pathPrefix: "/oidc/v1/token", latencyMs: 20_000 });
    const exchanges = stack.workspace.counters.tokenRequestTotal("token_exchange");
    const fresh = await stack.workspace.idp.mintToken({ sub: "wendy.west", role: "west_sales", ttlSeconds: 1802 });
    expect((await kb({ authorization: `Bearer ${fresh}` })).code).toBe("TIMEOUT");
    // The answer came before the workspace even finished the exchange: the deadline, not the token endpoint, bounded it.
    expect(stack.workspace.counters.tokenRequestTotal("token_exchange")).toBe(exchanges);
  });
});

describe("statement and Genie failures", () => {
  it("answers QUERY_FAILED when the statement ends FAILED", async () => {
    stack.workspace.faults.add({
      pathPrefix: STATEMENTS,
      principal: westSp,
      statements: { state: "FAILED", count: 1 },
    });
    const answer = await sales();
    expect(answer.code).toBe("QUERY_FAILED");
    expect(answer.text).toContain("INTERNAL_ERROR");
  });

  it("answers QUERY_FAILED, saying it was not at the caller's request, when the warehouse ends it CANCELED", async () => {
    stack.workspace.faults.add({
      pathPrefix: STATEMENTS,
      principal: westSp,
      statements: { state: "CANCELED", count: 1 },
    });
    const answer = await sales();
    expect(answer.code).toBe("QUERY_FAILED");
    expect(answer.text).toMatch(/CANCELED/);
  });

  it("answers ACCESS_DENIED once the warehouse CAN_USE is revoked mid-run, and serves again once restored", async () => {
    expect((await sales()).isError).toBe(false);
    stack.workspace.faults.revokeWarehouseUse(stack.workspace.context.seed, "west_sales");
    expect((await sales()).code).toBe("ACCESS_DENIED");
    expect((await call("check_identity", {}, await federationBearer(stack.workspace, "east_sales"))).isError).toBe(
      false,
    );
    stack.workspace.faults.restorePermissions();
    expect((await sales()).isError).toBe(false);
  });

  it("answers QUERY_FAILED when Genie reports the message FAILED (no warehouse access)", async () => {
    stack.workspace.faults.revokeWarehouseUse(stack.workspace.context.seed, "west_sales");
    const answer = await call("genie_query", { question: "total amount by region" });
    expect(answer.code).toBe("QUERY_FAILED");
    expect(answer.text).toMatch(/CAN_USE/);
  });
});

describe("the audit table unavailable to the audit writer", () => {
  it("keeps every record in the spool and drains them once writes succeed again", async () => {
    stack.workspace.faults.revokeWarehouseUse(stack.workspace.context.seed, "mcp_servers");
    const ids: string[] = [];
    for (let i = 0; i < 12; i += 1) {
      const answer = await (i % 2 ? kb() : call("check_identity", {}));
      expect(answer.isError).toBe(false);
      ids.push(answer.requestId!);
    }
    const during = await waitForAuditRows(stack.workspace, () => true);
    expect(during.filter((r) => ids.includes(r.request_id!))).toEqual([]);
    stack.workspace.faults.restorePermissions();
    const after = await waitForAuditRows(
      stack.workspace,
      (rows) => ids.every((id) => rows.some((r) => r.request_id === id)),
      30_000,
    );
    for (const id of ids) expect(after.filter((r) => r.request_id === id)).toHaveLength(1);
  });

  it("keeps serving while the audit writer's own statements fail with 5xx", async () => {
    stack.workspace.faults.add({ pathPrefix: STATEMENTS, principal: serverSp, failures: { status: 500, count: 3 } });
    expect((await kb()).isError).toBe(false);
    expect((await call("check_identity", {})).isError).toBe(false);
  });
});

describe("identity provider and workspace key outages", () => {
  it("keeps verifying OBO bearers with known workspace keys while the workspace JWKS is down", async () => {
    const obo = await oboBearer(stack.workspace, "wendy.west@example.com");
    expect((await call("check_identity", {}, obo)).isError).toBe(false);
    stack.workspace.faults.add({ pathPrefix: "/oidc/v1/keys", failures: { status: 503, count: 1000 } });
    const again = await oboBearer(stack.workspace, "wendy.west@example.com");
    expect((await call("check_identity", {}, again)).isError).toBe(false);
  });

  it("keeps known IdP keys working during an IdP JWKS outage and refuses a new kid with 401, never a 500", async () => {
    const idp = stack.workspace.idp;
    idp.setJwksAvailable(false);
    try {
      expect((await kb()).isError).toBe(false);
      await idp.rotateKeys();
      const newKid = await idp.mintToken({ sub: "wendy.west", role: "west_sales" });
      const answer = await rpc(stack.mcpUrl, toolCall("check_identity", {}), { authorization: `Bearer ${newKid}` });
      expect(answer.status).toBe(401);
      expect(toolAnswer(answer).code).toBe("TOKEN_INVALID");
    } finally {
      idp.setJwksAvailable(true);
    }
    // Once the IdP is back, the new key verifies (the workspace's own key cache refetches at most once a second).
    await new Promise((r) => setTimeout(r, 1100));
    const recovered = await idp.mintToken({ sub: "wendy.west", role: "west_sales" });
    expect((await kb({ authorization: `Bearer ${recovered}` })).isError).toBe(false);
  });
});

describe("circuit breaker per upstream", () => {
  it("opens on a failing vector index, answers CIRCUIT_OPEN without calling it, and fails only that tool", async () => {
    stack.workspace.faults.add({ pathPrefix: KB, failures: { status: 503, count: 10_000 } });
    expect((await kb()).code).toBe("UPSTREAM_UNAVAILABLE");
    const second = await kb();
    expect(second.code).toBe("CIRCUIT_OPEN");
    const hits = stack.workspace.faults.injected.failures;
    const third = await kb();
    expect(third.code).toBe("CIRCUIT_OPEN");
    expect(third.retryAfterS).toBeGreaterThan(0);
    expect(stack.workspace.faults.injected.failures).toBe(hits);
    expect((await sales()).isError).toBe(false);
    expect((await call("genie_query", { question: "how many deals" })).isError).toBe(false);
  });
});

describe("records lost", () => {
  it("has exactly one audit row for every call answered in this file, faults or not", async () => {
    const rows = await waitForAuditRows(
      stack.workspace,
      (r) => answered.every((id) => r.some((x) => x.request_id === id)),
      30_000,
    );
    const counts = new Map<string, number>();
    for (const row of rows) counts.set(row.request_id!, (counts.get(row.request_id!) ?? 0) + 1);
    const lost = answered.filter((id) => !counts.has(id));
    const doubled = answered.filter((id) => (counts.get(id) ?? 0) > 1);
    recordFigure("upstream faults: calls answered", answered.length);
    recordFigure("upstream faults: audit records lost", lost.length);
    recordFigure("upstream faults: audit records duplicated", doubled.length);
    expect(lost).toEqual([]);
    expect(doubled).toEqual([]);
  }, 60_000);
});
