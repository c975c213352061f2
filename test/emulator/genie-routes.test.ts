import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../../emulator/context.js";
import { Directory } from "../../emulator/directory.js";
import { Counters, FaultInjector } from "../../emulator/faults.js";
import { registerGenieRoutes, type GenieRouteOptions } from "../../emulator/genie/routes.js";
import { QUERY_MESSAGE_STEPS } from "../../emulator/genie/lifecycle.js";
import { ApiError } from "../../emulator/http/errors.js";
import { Router, sendError } from "../../emulator/http/router.js";
import type { Principal } from "../../emulator/principal.js";
import { Seed } from "../../emulator/seed/schema.js";
import type { SqlEngine, SqlParameter, SqlResult } from "../../emulator/sql/engine.js";

// Until the whole local workspace can start, Genie is tested over real HTTP with a real SQL engine (PGlite)
// behind a small stand-in for emulator/sql/engine.ts and a stand-in authenticator.

const seed = Seed.parse(
  JSON.parse(readFileSync(new URL("../../emulator/seed/default-seed.json", import.meta.url), "utf8")),
);
const SPACE_ID = seed.genieSpaces[0]!.id;
// Groups that may run the space but lack SELECT on the table, or CAN_USE on the warehouse.
seed.genieSpaces[0]!.permissions.push(
  { principal: "contractors", level: "CAN_RUN" },
  { principal: "no_warehouse", level: "CAN_RUN" },
);
seed.warehouses[0]!.permissions.push({ principal: "contractors", level: "CAN_USE" });

function principal(name: string, groups: string[], scopes = ["dashboards.genie"]): Principal {
  return { kind: "user", name, displayName: name, groups, scopes, expiresAt: 2_000_000_000 };
}

const TOKENS: Record<string, Principal> = {
  wendy: principal("wendy.west@example.com", ["west_sales", "users"]),
  evan: principal("evan.east@example.com", ["east_sales", "users"]),
  erin: principal("erin.exec@example.com", ["executive", "users"], ["all-apis"]),
  sqlonly: principal("sam.sql@example.com", ["users"], ["sql"]),
  stranger: principal("stan.stranger@example.com", ["outsiders"]),
  contractor: principal("carl.contractor@example.com", ["contractors"]),
  nowarehouse: principal("nora.nowarehouse@example.com", ["no_warehouse"]),
};

const auth = {
  async authenticate(req: { headers: Record<string, string | string[] | undefined> }): Promise<Principal> {
    const token = /^Bearer (\w+)$/.exec(String(req.headers.authorization ?? ""))?.[1];
    const found = token === undefined ? undefined : TOKENS[token];
    if (!found)
      throw new ApiError(401, "UNAUTHENTICATED", "Credential was not sent or was of an unsupported type for this API.");
    return found;
  },
};

/** Runs Databricks-style SQL on PGlite as the caller; denies SELECT the way UC would for ungranted principals. */
class PgliteStandInEngine implements SqlEngine {
  readonly executed: { principal: string; statement: string; parameters: SqlParameter[] }[] = [];
  constructor(
    private readonly db: PGlite,
    private readonly directory: Directory,
  ) {}

  async execute(who: Principal, statement: string, parameters: SqlParameter[]): Promise<SqlResult> {
    this.executed.push({ principal: who.name, statement, parameters });
    if (!this.directory.allows(seed.tables.deals.grants, who, "SELECT")) {
      throw Object.assign(new Error("User does not have SELECT on table `main`.`sales`.`deals`."), {
        errorCode: "INSUFFICIENT_PERMISSIONS",
        sqlState: "42501",
      });
    }
    const names = parameters.map((p) => p.name);
    const sql = statement
      .replaceAll("main.sales.deals", "deals")
      .replace(/:(\w+)/g, (_, name: string) => `$${names.indexOf(name) + 1}`);
    const result = await this.db.query<unknown[]>(
      sql,
      parameters.map((p) => p.value),
      { rowMode: "array" },
    );
    return {
      columns: result.fields.map((f, position) => ({
        name: f.name,
        position,
        type_name: "STRING",
        type_text: "STRING",
      })),
      rows: result.rows.map((row) => row.map((v) => (v === null ? null : String(v)))),
    };
  }

  async close(): Promise<void> {}
}

let db: PGlite;
let engine: PgliteStandInEngine;
const servers: Server[] = [];

async function startGenie(stepDelayMs: number, options: GenieRouteOptions = {}): Promise<string> {
  const router = new Router();
  const ctx = {
    seed,
    directory: new Directory(seed),
    faults: new FaultInjector(),
    counters: new Counters(),
    engine,
    auth,
    baseUrl: "",
    idpIssuer: "",
    idpJwksUri: "",
    genieStepDelayMs: stepDelayMs,
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
  db = await PGlite.create();
  await db.exec(`CREATE TABLE deals (deal_id text, account text, region text, owner_email text, product text,
    amount numeric(12,2), margin_pct numeric(5,2), quarter text, close_date date);
    INSERT INTO deals VALUES
    ('D1','Acme','WEST','wendy.west@example.com','Widgets',100.00,10.00,'2026-Q1','2026-01-10'),
    ('D2','Acme','WEST','wendy.west@example.com','Gadgets',250.00,20.00,'2026-Q2','2026-04-10'),
    ('D3','Globex','EAST','evan.east@example.com','Widgets',300.00,15.00,'2026-Q1','2026-02-10'),
    ('D4','Initech','CENTRAL','maria.manager@example.com','Gizmos',50.00,5.00,'2026-Q2','2026-05-10'),
    ('D5','Globex','EAST','evan.east@example.com','Gadgets',400.00,25.00,'2026-Q2','2026-06-10');`);
  engine = new PgliteStandInEngine(db, new Directory(seed));
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await db?.close();
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
  if (token) headers.authorization = `Bearer ${token}`;
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
): Promise<Json> {
  for (let i = 0; i < 500; i++) {
    const { status, json } = await call(base, "GET", messagePath(conversationId, messageId), token);
    expect(status).toBe(200);
    if (seen.at(-1) !== json.status) seen.push(json.status);
    if (["COMPLETED", "FAILED", "CANCELLED", "QUERY_RESULT_EXPIRED"].includes(json.status)) return json;
    await new Promise((r) => setTimeout(r, 5));
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
    expect(query.query).toMatchObject({ title: "Total amount by region", query_result_metadata: { row_count: 3 } });
    expect(query.query.query).toContain("GROUP BY region");
    expect(query.query.statement_id).toBeTruthy();
    expect(text.text.content).toContain("3 rows");

    const result = await call(
      base,
      "GET",
      `${messagePath(started.conversation_id, started.message_id)}/attachments/${query.attachment_id}/query-result`,
      "wendy",
    );
    expect(result.status).toBe(200);
    const sr = result.json.statement_response;
    expect(sr).toMatchObject({ statement_id: query.query.statement_id, status: { state: "SUCCEEDED" } });
    expect(sr.manifest).toMatchObject({ format: "JSON_ARRAY", total_row_count: 3, schema: { column_count: 2 } });
    expect(sr.manifest.schema.columns.map((c: Json) => c.name)).toEqual(["region", "total_amount"]);
    expect(sr.result.data_array).toEqual([
      ["EAST", "700.00"],
      ["WEST", "350.00"],
      ["CENTRAL", "50.00"],
    ]);
    expect(engine.executed.at(-1)?.principal).toBe("wendy.west@example.com");
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
    expect(byMessage.json.statement_response.result.data_array).toEqual([["5"]]);
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
    expect(query.query_result_metadata.row_count).toBe(2);
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
    const run = engine.executed.at(-1)!;
    expect(run.statement).not.toContain("DROP");
    expect(run.parameters).toContainEqual({ name: "account", value: hostile, type: "STRING" });
    expect((await db.query("SELECT count(*)::int AS n FROM deals")).rows).toEqual([{ n: 5 }]);
  });

  it("a caller without SELECT on the table gets FAILED with SQL_EXECUTION_EXCEPTION", async () => {
    const started = await start(base, "contractor", "total amount by region");
    const message = await waitForTerminal(base, "contractor", started.conversation_id, started.message_id);
    expect(message.status).toBe("FAILED");
    expect(message.error).toMatchObject({ type: "SQL_EXECUTION_EXCEPTION" });
    expect(message.error.error).toContain("SELECT");
    const result = await call(
      base,
      "GET",
      `${messagePath(started.conversation_id, started.message_id)}/query-result`,
      "contractor",
    );
    expect(result.json.statement_response.status).toMatchObject({
      state: "FAILED",
      error: { error_code: "INSUFFICIENT_PERMISSIONS" },
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
  it("a message walks SUBMITTED → … → COMPLETED, one step per genieStepDelayMs", async () => {
    const base = await startGenie(40);
    const started = await start(base, "erin", "average margin by quarter");
    expect(started.message.status).toBe("SUBMITTED");
    const seen: string[] = [];
    const message = await waitForTerminal(base, "erin", started.conversation_id, started.message_id, seen);
    expect(message.status).toBe("COMPLETED");
    expect(seen.length).toBeGreaterThanOrEqual(3);
    const order = seen.map((s) => QUERY_MESSAGE_STEPS.indexOf(s as never));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});

describe("Genie query result retention", () => {
  it("after the retention time the message is QUERY_RESULT_EXPIRED until execute-query re-runs it as the caller", async () => {
    let clock = 1_000_000;
    const base = await startGenie(0, { resultRetentionMs: 60_000, now: () => clock });
    const started = await start(base, "wendy", "total amount in 2026-Q2");
    const message = await waitForTerminal(base, "wendy", started.conversation_id, started.message_id);
    expect(message.status).toBe("COMPLETED");
    const attachmentId = message.attachments.find((a: Json) => a.query).attachment_id;
    const path = messagePath(started.conversation_id, started.message_id);

    clock += 60_000;
    expect((await call(base, "GET", path, "wendy")).json.status).toBe("QUERY_RESULT_EXPIRED");
    const expired = await call(base, "GET", `${path}/attachments/${attachmentId}/query-result`, "wendy");
    expect(expired.json.statement_response.status.state).toBe("CLOSED");
    expect(expired.json.statement_response.result).toBeUndefined();

    const rerun = await call(base, "POST", `${path}/attachments/${attachmentId}/execute-query`, "wendy");
    expect(rerun.status).toBe(200);
    expect(rerun.json.statement_response.status.state).toBe("SUCCEEDED");
    expect(rerun.json.statement_response.result.data_array).toEqual([["700.00"]]);
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
