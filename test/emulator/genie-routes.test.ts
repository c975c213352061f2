import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, inject, describe, expect, it } from "vitest";
import { systemClock, type Clock } from "../../src/clock.js";
import { FakeClock } from "../support/fake-clock.js";
import type { WorkspaceContext } from "../../emulator/context.js";
import { Directory } from "../../emulator/directory.js";
import { Counters, FaultInjector } from "../../emulator/faults.js";
import { registerGenieRoutes, type GenieRouteOptions } from "../../emulator/genie/routes.js";
import { QUERY_MESSAGE_STEPS } from "../../emulator/genie/lifecycle.js";
import { ApiError } from "../../emulator/http/errors.js";
import { Router, sendError } from "../../emulator/http/router.js";
import { WorkspaceTokens } from "../../emulator/oidc/tokens.js";
import { Seed } from "../../emulator/seed/schema.js";
import { generateDeals, type DealRow } from "../../emulator/sql/deals.js";
import { createSqlEngine, type SqlEngine } from "../../emulator/sql/engine.js";
import { WarehouseStates } from "../../emulator/sql/warehouses.js";

// The Genie routes alone on a loopback server (so the clock, retention and memory caps can be set), over the real
// SQL engine with the seed's governance and real workspace tokens. The seed is the default one with fewer deals and
// a few extra identities: a group that may run the space but has no SELECT on the table, one without CAN_USE on the
// warehouse, and an outsider.

const seed = Seed.parse(
  JSON.parse(readFileSync(new URL("../../emulator/seed/default-seed.json", import.meta.url), "utf8")),
);
seed.tables.deals.rows = 200;
seed.groups.push("contractors", "no_warehouse", "outsiders");
seed.users.push(
  { userName: "sam.sql@example.com", displayName: "Sam Sql", groups: ["users"] },
  { userName: "stan.stranger@example.com", displayName: "Stan Stranger", groups: ["outsiders"] },
  { userName: "carl.contractor@example.com", displayName: "Carl Contractor", groups: ["contractors"] },
  { userName: "nora.nowarehouse@example.com", displayName: "Nora Nowarehouse", groups: ["no_warehouse"] },
);
const SPACE_ID = seed.genieSpaces[0]!.id;
seed.genieSpaces[0]!.permissions.push(
  { principal: "contractors", level: "CAN_RUN" },
  { principal: "no_warehouse", level: "CAN_RUN" },
);
seed.warehouses[0]!.permissions.push({ principal: "contractors", level: "CAN_USE" });

/** Short names used below → the identity and scopes of their workspace token. */
const CALLERS: Record<string, { userName: string; scopes: string[] }> = {
  wendy: { userName: "wendy.west@example.com", scopes: ["dashboards.genie"] },
  evan: { userName: "evan.east@example.com", scopes: ["dashboards.genie"] },
  erin: { userName: "erin.exec@example.com", scopes: ["all-apis"] },
  sqlonly: { userName: "sam.sql@example.com", scopes: ["sql"] },
  stranger: { userName: "stan.stranger@example.com", scopes: ["dashboards.genie"] },
  contractor: { userName: "carl.contractor@example.com", scopes: ["dashboards.genie"] },
  nowarehouse: { userName: "nora.nowarehouse@example.com", scopes: ["dashboards.genie"] },
};

const deals: DealRow[] = generateDeals(seed);
/** Wendy's view by the design's matrix: WEST plus the deals she owns. */
const wendyDeals = deals.filter((d) => d.region === "WEST" || d.owner_email === "wendy.west@example.com");

/** Sum of amounts as the engine prints numeric(12,2) sums; null for no rows. */
function total(rows: DealRow[]): string | null {
  if (rows.length === 0) return null;
  const cents = rows.reduce((sum, d) => sum + Math.round(Number(d.amount) * 100), 0);
  return (cents / 100).toFixed(2);
}

let engine: SqlEngine;
let counters: Counters;
let directory: Directory;
let tokens: WorkspaceTokens;
const bearer: Record<string, string> = {};
const servers: Server[] = [];

async function startGenie(
  stepDelayMs: number,
  options: GenieRouteOptions = {},
  clock: Clock = systemClock,
): Promise<string> {
  const router = new Router();
  const ctx = {
    seed,
    directory,
    faults: new FaultInjector(),
    counters,
    engine,
    warehouses: new WarehouseStates(seed),
    auth: tokens,
    baseUrl: "http://127.0.0.1",
    idpIssuer: "",
    idpJwksUri: "",
    genieStepDelayMs: stepDelayMs,
    clock,
    statementClock: systemClock,
  } as WorkspaceContext;
  registerGenieRoutes(router, ctx, options);
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      try {
        const found = router.match(req.method ?? "GET", url.pathname);
        if (found === undefined || found === "method") throw new ApiError(404, "ENDPOINT_NOT_FOUND", "No API found");
        await found.handler({ req, res, url, params: found.params });
      } catch (err) {
        sendError(res, err);
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  directory = new Directory(seed);
  counters = new Counters();
  engine = await createSqlEngine(seed, directory, counters, {
    cluster: inject("postgresCluster"),
    maxRunTimeMs: 30_000,
  });
  tokens = await WorkspaceTokens.create({ seed, directory, baseUrl: "http://127.0.0.1" } as WorkspaceContext);
  for (const [name, { userName, scopes }] of Object.entries(CALLERS))
    bearer[name] = (await tokens.issue(userName, scopes, 3600)).access_token;
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await engine?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are probed field by field in assertions
type Json = Record<string, any>;

async function call(
  base: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${bearer[token] ?? token}`;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Json };
}

const spacePath = `/api/2.0/genie/spaces/${SPACE_ID}`;
const messagePath = (conversationId: string, messageId: string) =>
  `${spacePath}/conversations/${conversationId}/messages/${messageId}`;

async function start(base: string, token: string, content: string) {
  const { status, json } = await call(base, "POST", `${spacePath}/start-conversation`, token, { content });
  expect(status).toBe(200);
  return json;
}

async function waitForTerminal(
  base: string,
  token: string,
  conversationId: string,
  messageId: string,
  seen: string[] = [],
  /** Runs between polls instead of a short pause (e.g. moving a fake clock one step). */
  onPoll?: () => Promise<void>,
): Promise<Json> {
  // Bounded generously: the query runs on the real engine, however loaded the machine is.
  for (const end = Date.now() + 30_000; Date.now() < end;) {
    const { status, json } = await call(base, "GET", messagePath(conversationId, messageId), token);
    expect(status).toBe(200);
    if (seen.at(-1) !== json.status) seen.push(json.status);
    if (["COMPLETED", "FAILED", "CANCELLED", "QUERY_RESULT_EXPIRED"].includes(json.status)) return json;
    await (onPoll ? onPoll() : new Promise((r) => setTimeout(r, 5)));
  }
  throw new Error("message never reached a terminal status");
}

describe("Genie Conversation API (local)", () => {
  let base: string;
  beforeAll(async () => {
    base = await startGenie(0);
  });

  it("start-conversation answers {conversation_id, message_id, conversation, message} and completes with rows", async () => {
    const started = await start(base, "wendy", "total amount by region");
    expect(started.conversation_id).toMatch(/^[0-9a-f]{32}$/);
    expect(started.message_id).toMatch(/^[0-9a-f]{32}$/);
    expect(started.conversation).toMatchObject({
      conversation_id: started.conversation_id,
      space_id: SPACE_ID,
      title: "total amount by region",
    });
    expect(started.message).toMatchObject({
      message_id: started.message_id,
      conversation_id: started.conversation_id,
      content: "total amount by region",
    });

    const message = await waitForTerminal(base, "wendy", started.conversation_id, started.message_id);
    expect(message).toMatchObject({
      id: started.message_id,
      message_id: started.message_id,
      conversation_id: started.conversation_id,
      space_id: SPACE_ID,
      content: "total amount by region",
      status: "COMPLETED",
    });
    expect(typeof message.user_id).toBe("number");
    expect(typeof message.created_timestamp).toBe("number");
    expect(typeof message.last_updated_timestamp).toBe("number");
    const query = message.attachments.find((a: Json) => a.query)!;
    const text = message.attachments.find((a: Json) => a.text)!;
    const byRegion = [...new Set(wendyDeals.map((d) => d.region))]
      .map((region) => [region, total(wendyDeals.filter((d) => d.region === region))!])
      .sort((a, b) => Number(b[1]) - Number(a[1]));
    expect(byRegion).toEqual([["WEST", total(deals.filter((d) => d.region === "WEST"))]]);
    expect(query.query).toMatchObject({ title: "Total amount by region", query_result_metadata: { row_count: 1 } });
    expect(query.query.query).toContain("GROUP BY region");
    expect(query.query.statement_id).toBeTruthy();
    expect(text.text.content).toContain("returned 1 row");

    const result = await call(
      base,
      "GET",
      `${messagePath(started.conversation_id, started.message_id)}/attachments/${query.attachment_id}/query-result`,
      "wendy",
    );
    expect(result.status).toBe(200);
    const sr = result.json.statement_response;
    expect(sr).toMatchObject({ statement_id: query.query.statement_id, status: { state: "SUCCEEDED" } });
    expect(sr.manifest).toMatchObject({ format: "JSON_ARRAY", total_row_count: 1, schema: { column_count: 2 } });
    expect(sr.manifest.schema.columns.map((c: Json) => c.name)).toEqual(["region", "total_amount"]);
    expect(sr.result.data_array).toEqual(byRegion);
    expect(counters.statements.at(-1)?.principal).toBe("wendy.west@example.com");
  });

  it("the deprecated query-result paths answer with the same statement response", async () => {
    const started = await start(base, "wendy", "how many deals");
    const message = await waitForTerminal(base, "wendy", started.conversation_id, started.message_id);
    const attachmentId = message.attachments.find((a: Json) => a.query).attachment_id;
    const byMessage = await call(
      base,
      "GET",
      `${messagePath(started.conversation_id, started.message_id)}/query-result`,
      "wendy",
    );
    const byAttachment = await call(
      base,
      "GET",
      `${messagePath(started.conversation_id, started.message_id)}/query-result/${attachmentId}`,
      "wendy",
    );
    expect(byMessage.json.statement_response.result.data_array).toEqual([[String(wendyDeals.length)]]);
    expect(byAttachment.json).toEqual(byMessage.json);
    expect(message.query_result).toMatchObject({ row_count: 1 });
  });

  it("a follow-up message refines the previous question with a bound filter", async () => {
    const started = await start(base, "wendy", "top 10 deals");
    await waitForTerminal(base, "wendy", started.conversation_id, started.message_id);
    const follow = await call(base, "POST", `${spacePath}/conversations/${started.conversation_id}/messages`, "wendy", {
      content: "only WEST",
    });
    expect(follow.status).toBe(200);
    expect(follow.json).toMatchObject({ conversation_id: started.conversation_id, content: "only WEST" });
    const message = await waitForTerminal(base, "wendy", started.conversation_id, follow.json.message_id);
    const query = message.attachments.find((a: Json) => a.query).query;
    expect(query.query).toContain("region = :region");
    expect(query.parameters).toContainEqual({ keyword: "region", sql_type: "STRING", value: "WEST" });
    expect(query.query_result_metadata.row_count).toBe(
      Math.min(10, wendyDeals.filter((d) => d.region === "WEST").length),
    );
  });

  it("an untranslatable question completes with a text attachment listing the understood shapes and no query", async () => {
    const started = await start(base, "wendy", "Write me a poem about revenue");
    const message = await waitForTerminal(base, "wendy", started.conversation_id, started.message_id);
    expect(message.status).toBe("COMPLETED");
    expect(message.attachments).toHaveLength(1);
    expect(message.attachments[0].text.content).toContain("total amount by");
    const result = await call(
      base,
      "GET",
      `${messagePath(started.conversation_id, started.message_id)}/query-result`,
      "wendy",
    );
    expect(result.status).toBe(400);
  });

  it("quotes and semicolons in a question reach the engine only as parameter values", async () => {
    const hostile = "Acme'; DROP TABLE deals; --";
    const started = await start(base, "wendy", `deals for account ${hostile}`);
    const message = await waitForTerminal(base, "wendy", started.conversation_id, started.message_id);
    expect(message.status).toBe("COMPLETED");
    const run = counters.statements.at(-1)!;
    expect(run.statement).not.toContain("DROP");
    expect(run.parameters).toContainEqual({ name: "account", value: hostile, type: "STRING" });
    const erin = directory.principalFor("erin.exec@example.com", ["all-apis"], 2_000_000_000)!;
    expect((await engine.execute(erin, "SELECT count(*) FROM main.sales.deals", [])).rows).toEqual([
      [String(deals.length)],
    ]);
  });

  it("a caller without SELECT on the table gets FAILED with SQL_EXECUTION_EXCEPTION", async () => {
    const started = await start(base, "contractor", "total amount by region");
    const message = await waitForTerminal(base, "contractor", started.conversation_id, started.message_id);
    expect(message.status).toBe("FAILED");
    expect(message.error).toMatchObject({ type: "SQL_EXECUTION_EXCEPTION" });
    expect(message.error.error).toMatch(/^\[INSUFFICIENT_PERMISSIONS\]/);
    const result = await call(
      base,
      "GET",
      `${messagePath(started.conversation_id, started.message_id)}/query-result`,
      "contractor",
    );
    expect(result.json.statement_response.status).toMatchObject({
      state: "FAILED",
      error: { error_code: "BAD_REQUEST", message: expect.stringMatching(/^\[INSUFFICIENT_PERMISSIONS\]/) },
      sql_state: "42501",
    });
  });

  it("a caller without CAN_USE on the space's warehouse gets FAILED with WAREHOUSE_ACCESS_MISSING_EXCEPTION", async () => {
    const started = await start(base, "nowarehouse", "how many deals");
    const message = await waitForTerminal(base, "nowarehouse", started.conversation_id, started.message_id);
    expect(message).toMatchObject({ status: "FAILED", error: { type: "WAREHOUSE_ACCESS_MISSING_EXCEPTION" } });
  });

  it("no credential is 401; a token without the dashboards.genie scope is 403 PERMISSION_DENIED", async () => {
    expect(
      (await call(base, "POST", `${spacePath}/start-conversation`, undefined, { content: "how many deals" })).status,
    ).toBe(401);
    const denied = await call(base, "POST", `${spacePath}/start-conversation`, "sqlonly", {
      content: "how many deals",
    });
    expect(denied.status).toBe(403);
    expect(denied.json.error_code).toBe("PERMISSION_DENIED");
    expect(denied.json.message).toContain("dashboards.genie");
  });

  it("a principal without CAN_RUN on the space is 403 PERMISSION_DENIED; an unknown space is 404 RESOURCE_DOES_NOT_EXIST", async () => {
    const denied = await call(base, "POST", `${spacePath}/start-conversation`, "stranger", {
      content: "how many deals",
    });
    expect(denied).toMatchObject({ status: 403, json: { error_code: "PERMISSION_DENIED" } });
    const missing = await call(base, "POST", `/api/2.0/genie/spaces/nope/start-conversation`, "wendy", {
      content: "how many deals",
    });
    expect(missing).toMatchObject({ status: 404, json: { error_code: "RESOURCE_DOES_NOT_EXIST" } });
  });

  it("another principal cannot read, continue or re-run someone else's conversation", async () => {
    const started = await start(base, "wendy", "how many deals");
    const message = await waitForTerminal(base, "wendy", started.conversation_id, started.message_id);
    const attachmentId = message.attachments.find((a: Json) => a.query).attachment_id;
    const path = messagePath(started.conversation_id, started.message_id);
    for (const [method, p] of [
      ["GET", path],
      ["GET", `${path}/attachments/${attachmentId}/query-result`],
      ["POST", `${path}/attachments/${attachmentId}/execute-query`],
      ["POST", `${spacePath}/conversations/${started.conversation_id}/messages`],
    ] as const) {
      const res = await call(base, method, p, "evan", method === "POST" ? { content: "only EAST" } : undefined);
      expect(res.status, `${method} ${p}`).toBe(404);
      expect(res.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    }
  });

  it("listing conversations shows only the caller's own; include_all needs CAN_MANAGE", async () => {
    const mine = await start(base, "evan", "how many deals in EAST");
    await call(base, "POST", `${spacePath}/conversations/${mine.conversation_id}/messages`, "evan", {
      content: "in 2026-Q1",
    });
    const listed = await call(base, "GET", `${spacePath}/conversations`, "evan");
    expect(listed.status).toBe(200);
    expect(listed.json.conversations.map((c: Json) => c.conversation_id)).toEqual([mine.conversation_id]);
    const all = await call(base, "GET", `${spacePath}/conversations?include_all=true`, "evan");
    expect(all).toMatchObject({ status: 403, json: { error_code: "PERMISSION_DENIED" } });

    const firstPage = await call(
      base,
      "GET",
      `${spacePath}/conversations/${mine.conversation_id}/messages?page_size=1`,
      "evan",
    );
    expect(firstPage.json.messages.map((m: Json) => m.content)).toEqual(["how many deals in EAST"]);
    const secondPage = await call(
      base,
      "GET",
      `${spacePath}/conversations/${mine.conversation_id}/messages?page_size=1&page_token=${firstPage.json.next_page_token}`,
      "evan",
    );
    expect(secondPage.json.messages.map((m: Json) => m.content)).toEqual(["in 2026-Q1"]);
    expect(secondPage.json.next_page_token).toBeUndefined();
  });

  it("missing content and malformed JSON are 400s", async () => {
    expect((await call(base, "POST", `${spacePath}/start-conversation`, "wendy", {})).json.error_code).toBe(
      "INVALID_PARAMETER_VALUE",
    );
    const malformed = await call(base, "POST", `${spacePath}/start-conversation`, "wendy", "{not json");
    expect(malformed).toMatchObject({ status: 400, json: { error_code: "MALFORMED_REQUEST" } });
  });
});

describe("Genie message status progression", () => {
  it("a message walks SUBMITTED → … → COMPLETED, one step per genieStepDelayMs of its clock", async () => {
    const clock = new FakeClock();
    const base = await startGenie(40, {}, clock);
    const started = await start(base, "erin", "average margin by quarter");
    expect(started.message.status).toBe("SUBMITTED");
    const seen: string[] = [];
    const step = () => clock.advance(40);
    const message = await waitForTerminal(base, "erin", started.conversation_id, started.message_id, seen, step);
    expect(message.status).toBe("COMPLETED");
    expect(seen).toEqual([...QUERY_MESSAGE_STEPS]);
  });

  it("a message stays on its step while its clock stands still", async () => {
    const clock = new FakeClock();
    const base = await startGenie(40, {}, clock);
    const started = await start(base, "erin", "average margin by quarter");
    const path = messagePath(started.conversation_id, started.message_id);
    await clock.advance(39);
    expect((await call(base, "GET", path, "erin")).json.status).toBe("SUBMITTED");
    await clock.advance(1);
    expect((await call(base, "GET", path, "erin")).json.status).toBe("FETCHING_METADATA");
  });
});

describe("Genie query result retention", () => {
  it("after the retention time the message is QUERY_RESULT_EXPIRED until execute-query re-runs it as the caller", async () => {
    const clock = new FakeClock();
    const base = await startGenie(0, { resultRetentionMs: 60_000 }, clock);
    const started = await start(base, "wendy", "total amount in 2026-Q2");
    const message = await waitForTerminal(base, "wendy", started.conversation_id, started.message_id);
    expect(message.status).toBe("COMPLETED");
    const attachmentId = message.attachments.find((a: Json) => a.query).attachment_id;
    const path = messagePath(started.conversation_id, started.message_id);

    await clock.advance(60_000);
    expect((await call(base, "GET", path, "wendy")).json.status).toBe("QUERY_RESULT_EXPIRED");
    const expired = await call(base, "GET", `${path}/attachments/${attachmentId}/query-result`, "wendy");
    expect(expired.json.statement_response.status.state).toBe("CLOSED");
    expect(expired.json.statement_response.result).toBeUndefined();

    const rerun = await call(base, "POST", `${path}/attachments/${attachmentId}/execute-query`, "wendy");
    expect(rerun.status).toBe(200);
    expect(rerun.json.statement_response.status.state).toBe("SUCCEEDED");
    expect(rerun.json.statement_response.result.data_array).toEqual([
      [total(wendyDeals.filter((d) => d.quarter === "2026-Q2"))],
    ]);
    expect(rerun.json.statement_response.statement_id).not.toBe(
      message.attachments.find((a: Json) => a.query).query.statement_id,
    );
    expect((await call(base, "GET", path, "wendy")).json.status).toBe("COMPLETED");
  });
});

describe("Genie conversation memory", () => {
  it("past maxConversations the least recently used conversation is forgotten", async () => {
    const base = await startGenie(0, { maxConversations: 2 });
    const first = await start(base, "wendy", "how many deals");
    await start(base, "wendy", "how many deals");
    await start(base, "wendy", "how many deals");
    expect((await call(base, "GET", messagePath(first.conversation_id, first.message_id), "wendy")).status).toBe(404);
  });
});
