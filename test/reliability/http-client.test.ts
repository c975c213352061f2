import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import {
  WorkspaceHttpClient,
  parseRetryAfter,
  type WorkspaceHttpClientOptions,
} from "../../src/databricks/http-client.js";
import { upstreamOf } from "../../src/databricks/circuit-breaker.js";
import { GovernedError } from "../../src/errors.js";
import { linkedAbort, type AbortSource } from "../../src/linked-abort.js";
import type { WorkspaceCredential } from "../../src/identity/types.js";
import { FakeClock } from "../support/fake-clock.js";
import { recordFigure } from "./figures.js";

let workspace: LocalWorkspace;
let credential: WorkspaceCredential;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
const clients: WorkspaceHttpClient[] = [];

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  workspace = await startLocalWorkspace({ genieStepDelayMs: 10 });
  const admin = workspace.context.seed.servicePrincipals.find((sp) => sp.displayName === "fed-exchange-sp-admin")!;
  const { access_token, expires_in } = await workspace.tokens.issue(admin.applicationId, ["all-apis"], 3600);
  const token = { accessToken: access_token, expiresAt: Math.floor(Date.now() / 1000) + expires_in, scopes: [] };
  credential = { token: async () => token };
});
afterEach(() => {
  workspace.faults.clear();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await workspace?.close();
  process.off("unhandledRejection", onUnhandled);
  recordFigure("http client: unhandled rejections", unhandled.length);
  expect(unhandled).toEqual([]);
});

function client(options: WorkspaceHttpClientOptions = {}): WorkspaceHttpClient {
  const c = new WorkspaceHttpClient(workspace.baseUrl, { baseBackoffMs: 5, maxBackoffMs: 20, ...options });
  clients.push(c);
  return c;
}

const INDEX = "/api/2.0/vector-search/indexes/main.knowledge.docs_index/query";
const searchBody = { query_text: "discount approval", num_results: 2, columns: ["doc_id"] };
const search = (c: WorkspaceHttpClient, extra: { deadline?: number; signal?: AbortSource } = {}) =>
  c.request<{ result: { row_count: number } }>({
    method: "POST",
    path: INDEX,
    body: searchBody,
    credential,
    idempotent: true,
    ...extra,
  });
const me = (c: WorkspaceHttpClient) =>
  c.request<{ userName?: string }>({ method: "GET", path: "/api/2.0/preview/scim/v2/Me", credential });
const statement = (c: WorkspaceHttpClient) =>
  c.request<{ status: { state: string } }>({
    method: "POST",
    path: "/api/2.0/sql/statements",
    body: { warehouse_id: workspace.context.seed.warehouses[0]!.id, statement: "SELECT 1", wait_timeout: "10s" },
    credential,
  });

/** Waits (polling, bounded) until the local workspace holds `before + 1` stalled requests: a response is now pending. */
async function stallReached(before: number): Promise<void> {
  await vi.waitFor(() => expect(workspace.faults.injected.stalls).toBeGreaterThan(before), {
    timeout: 30_000,
    interval: 5,
  });
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; retryAfterS?: number }> {
  try {
    await p;
    return { code: "OK" };
  } catch (err) {
    if (!(err instanceof GovernedError)) throw err;
    return { code: err.code, retryAfterS: err.details.retryAfterS };
  }
}

describe("Retry-After", () => {
  it("reads delta-seconds", () => {
    expect(parseRetryAfter("7")).toBe(7);
  });
  it("reads an HTTP date as seconds from now", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30);
  });
  it("reads a date in the past as zero and garbage as absent", () => {
    expect(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", Date.parse("2026-01-01T00:00:00Z"))).toBe(0);
    expect(parseRetryAfter("-3")).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
});

describe("retries only where safe", () => {
  it("retries an idempotent read through a 503 burst and succeeds", async () => {
    workspace.faults.add({ pathPrefix: INDEX, failures: { status: 503, count: 2 } });
    const before = workspace.counters.requests;
    expect((await search(client())).result.row_count).toBeGreaterThan(0);
    expect(workspace.counters.requests - before).toBe(3);
  });

  it("does not resend a statement submission after a 503 (not idempotent)", async () => {
    workspace.faults.add({ pathPrefix: "/api/2.0/sql/statements", failures: { status: 503, count: 3 } });
    const before = workspace.counters.requests;
    expect((await codeOf(statement(client()))).code).toBe("UPSTREAM_UNAVAILABLE");
    expect(workspace.counters.requests - before).toBe(1);
  });

  it("retries an idempotent read after a connection reset", async () => {
    workspace.faults.add({ pathPrefix: INDEX, resets: 1 });
    expect((await search(client())).result.row_count).toBeGreaterThan(0);
    expect(workspace.faults.injected.resets).toBeGreaterThanOrEqual(1);
  });

  it("does not resend a statement submission after a connection reset", async () => {
    workspace.faults.add({ pathPrefix: "/api/2.0/sql/statements", resets: 2 });
    const before = workspace.counters.requests;
    expect((await codeOf(statement(client()))).code).toBe("UPSTREAM_UNAVAILABLE");
    expect(workspace.counters.requests - before).toBe(1);
  });

  it("retries a 429 even for a submission, waiting the Retry-After it was given", async () => {
    workspace.faults.add({
      pathPrefix: "/api/2.0/sql/statements",
      failures: { status: 429, count: 1, retryAfterS: 1 },
    });
    const clock = new FakeClock();
    const started = clock.now();
    // Only the Retry-After wait is woken; the request timeouts (30 s on the clock) guard requests in flight.
    const answer = await clock.drive(statement(client({ clock })), started + 30_000);
    expect(answer.status.state).toBe("SUCCEEDED");
    expect(clock.now() - started).toBe(1000);
  });

  it("answers RATE_LIMITED with retry_after_s when Retry-After exceeds what it may wait", async () => {
    workspace.faults.add({ pathPrefix: INDEX, failures: { status: 429, count: 5, retryAfterS: 120 } });
    const before = workspace.counters.requests;
    expect(await codeOf(search(client()))).toEqual({ code: "RATE_LIMITED", retryAfterS: 120 });
    expect(workspace.counters.requests - before).toBe(1);
  });

  it("honours Retry-After given as an HTTP date", async () => {
    workspace.faults.add({
      pathPrefix: INDEX,
      failures: { status: 429, count: 5, retryAfterS: 90, retryAfterDate: true },
    });
    const { code, retryAfterS } = await codeOf(search(client()));
    expect(code).toBe("RATE_LIMITED");
    expect(retryAfterS).toBeGreaterThanOrEqual(88);
    expect(retryAfterS).toBeLessThanOrEqual(90);
  });

  it("does not wait for a Retry-After that ends past the call's deadline", async () => {
    workspace.faults.add({ pathPrefix: INDEX, failures: { status: 429, count: 5, retryAfterS: 5 } });
    const before = workspace.counters.requests;
    const clock = new FakeClock();
    const result = await codeOf(search(client({ clock }), { deadline: clock.now() + 1000 }));
    expect(result).toEqual({ code: "RATE_LIMITED", retryAfterS: 5 });
    expect(workspace.counters.requests - before).toBe(1);
  });

  it("gives up after the bounded number of attempts", async () => {
    workspace.faults.add({ pathPrefix: INDEX, failures: { status: 503, count: 50 } });
    const before = workspace.counters.requests;
    expect((await codeOf(search(client({ circuit: { failureThreshold: 100 } })))).code).toBe("UPSTREAM_UNAVAILABLE");
    expect(workspace.counters.requests - before).toBe(4);
  });
});

describe("deadlines", () => {
  it("abandons a stalled response when its clock reaches the call's deadline, with TIMEOUT", async () => {
    workspace.faults.add({ pathPrefix: INDEX, stalls: 1 });
    const clock = new FakeClock();
    const stalls = workspace.faults.injected.stalls;
    let settled = false;
    const outcome = codeOf(search(client({ clock }), { deadline: clock.now() + 300 })).finally(() => (settled = true));
    await stallReached(stalls);
    await clock.advance(299);
    expect(settled).toBe(false);
    await clock.advance(1);
    expect((await outcome).code).toBe("TIMEOUT");
  });

  it("times out with its call's limit, arming no timer of its own, and counts as a timeout for the circuit", async () => {
    workspace.faults.add({ pathPrefix: INDEX, stalls: 1 });
    const clock = new FakeClock();
    const c = client({ clock, maxAttempts: 1, circuit: { failureThreshold: 1, cooldownMs: 60_000 } });
    // As the dispatcher bounds a tool call: one limit, whose end is the deadline its requests carry.
    const call = linkedAbort([], 300, clock);
    const stalls = workspace.faults.injected.stalls;
    const outcome = codeOf(search(c, { deadline: call.endsAt, signal: call.signal }));
    await stallReached(stalls);
    expect(clock.waiting).toBe(1);
    await clock.advance(300);
    expect((await outcome).code).toBe("TIMEOUT");
    expect((await codeOf(search(c))).code).toBe("CIRCUIT_OPEN");
  });

  it("bounds a stalled response without a deadline by the request timeout, on its clock", async () => {
    workspace.faults.add({ pathPrefix: "/api/2.0/preview/scim", stalls: 1 });
    const clock = new FakeClock();
    const stalls = workspace.faults.injected.stalls;
    const outcome = codeOf(me(client({ clock, requestTimeoutMs: 300 })));
    await stallReached(stalls);
    await clock.advance(300);
    expect((await outcome).code).toBe("TIMEOUT");
  });

  it("does not wait past the deadline for a slow token", async () => {
    const clock = new FakeClock();
    const started = clock.now();
    const slow: WorkspaceCredential = { token: () => clock.sleep(2000).then(() => credential.token()) };
    const result = await clock.drive(
      codeOf(
        client({ clock }).request({
          method: "GET",
          path: "/api/2.0/preview/scim/v2/Me",
          credential: slow,
          deadline: started + 200,
        }),
      ),
    );
    expect(result.code).toBe("TIMEOUT");
    expect(clock.now() - started).toBe(200);
  });

  it("uses a token already in hand without asking the credential for one, and asks once the workspace answers 401", async () => {
    const inHand = await credential.token();
    let asked = 0;
    const held: WorkspaceCredential = {
      token: async () => {
        asked += 1;
        return inHand;
      },
      current: () => inHand,
    };
    const signal = new AbortController().signal;
    const deadline = Date.now() + 60_000;
    const request = { method: "GET", path: "/api/2.0/preview/scim/v2/Me", signal, deadline } as const;
    await client().request({ ...request, credential: held });
    expect(asked).toBe(0);
    const revoked: WorkspaceCredential = { ...held, current: () => ({ ...inHand, accessToken: "revoked" }) };
    await client().request({ ...request, credential: revoked });
    expect(asked).toBe(1);
  });

  it("follows its call's limit as undici's signal, making no AbortSignal, and answers CANCELLED when it aborts", async () => {
    workspace.faults.add({ pathPrefix: INDEX, stalls: 1 });
    // As a call's credential usually is: its token in hand (fetching one would take the call's signal).
    const inHand = await credential.token();
    const held: WorkspaceCredential = { token: async () => inHand, current: () => inHand };
    const made = vi.spyOn(AbortController.prototype, "signal", "get");
    try {
      const call = linkedAbort([], 60_000);
      const stalls = workspace.faults.injected.stalls;
      const request = { method: "POST", path: INDEX, body: searchBody, credential: held, idempotent: true } as const;
      const outcome = codeOf(client().request({ ...request, deadline: call.endsAt, signal: call }));
      await stallReached(stalls);
      expect(made).not.toHaveBeenCalled();
      call.abort("cancelled by the client");
      expect((await outcome).code).toBe("CANCELLED");
      expect(call.emitter.listenerCount("abort")).toBe(0);
    } finally {
      made.mockRestore();
    }
  });

  it("answers CANCELLED when the caller aborts a stalled request", async () => {
    workspace.faults.add({ pathPrefix: INDEX, stalls: 1 });
    const controller = new AbortController();
    const stalls = workspace.faults.injected.stalls;
    const outcome = codeOf(search(client(), { signal: controller.signal }));
    await stallReached(stalls);
    controller.abort();
    expect((await outcome).code).toBe("CANCELLED");
  });
});

describe("circuit breaker", () => {
  it("opens after N consecutive 5xx and answers CIRCUIT_OPEN without calling the upstream", async () => {
    const c = client({ maxAttempts: 1, circuit: { failureThreshold: 3, cooldownMs: 60_000 } });
    workspace.faults.add({ pathPrefix: INDEX, failures: { status: 503, count: 100 } });
    for (let i = 0; i < 3; i += 1) expect((await codeOf(search(c))).code).toBe("UPSTREAM_UNAVAILABLE");
    const before = workspace.counters.requests;
    const refused = await codeOf(search(c));
    expect(refused.code).toBe("CIRCUIT_OPEN");
    expect(refused.retryAfterS).toBeGreaterThan(0);
    expect(workspace.counters.requests).toBe(before);
  });

  it("keeps other upstream families working while one circuit is open", async () => {
    const c = client({ maxAttempts: 1, circuit: { failureThreshold: 2, cooldownMs: 60_000 } });
    workspace.faults.add({ pathPrefix: INDEX, failures: { status: 503, count: 100 } });
    await codeOf(search(c));
    await codeOf(search(c));
    expect((await codeOf(search(c))).code).toBe("CIRCUIT_OPEN");
    expect((await statement(c)).status.state).toBe("SUCCEEDED");
    expect((await me(c)).userName ?? "sp").toBeTruthy();
  });

  it("counts resets and timeouts but never 4xx answers", async () => {
    const clock = new FakeClock();
    const c = client({ clock, maxAttempts: 1, circuit: { failureThreshold: 2, cooldownMs: 60_000 } });
    const bad = () =>
      c.request({ method: "POST", path: INDEX, body: { query_text: "" }, credential, idempotent: true });
    for (let i = 0; i < 5; i += 1) expect((await codeOf(bad())).code).toBe("INVALID_ARGUMENT");
    expect(c.breaker.state(JSON.stringify([workspace.baseUrl, "vector_index", "main.knowledge.docs_index"]))).toBe(
      "closed",
    );
    workspace.faults.add({ pathPrefix: INDEX, resets: 1, stalls: 1 });
    expect((await codeOf(search(c))).code).toBe("UPSTREAM_UNAVAILABLE");
    const stalls = workspace.faults.injected.stalls;
    const stalled = codeOf(search(c, { deadline: clock.now() + 200 }));
    await stallReached(stalls);
    await clock.advance(200);
    expect((await stalled).code).toBe("TIMEOUT");
    expect((await codeOf(search(c))).code).toBe("CIRCUIT_OPEN");
  });

  it("half-opens after the cooldown: a successful probe closes it", async () => {
    const clock = new FakeClock();
    const c = client({ clock, maxAttempts: 1, circuit: { failureThreshold: 2, cooldownMs: 150 } });
    workspace.faults.add({ pathPrefix: INDEX, failures: { status: 500, count: 2 } });
    await codeOf(search(c));
    await codeOf(search(c));
    await clock.advance(149);
    expect((await codeOf(search(c))).code).toBe("CIRCUIT_OPEN");
    await clock.advance(1);
    expect((await search(c)).result.row_count).toBeGreaterThan(0);
    expect((await search(c)).result.row_count).toBeGreaterThan(0);
  });

  it("half-opens after the cooldown: a failed probe opens it again", async () => {
    const clock = new FakeClock();
    const c = client({ clock, maxAttempts: 1, circuit: { failureThreshold: 2, cooldownMs: 150 } });
    workspace.faults.add({ pathPrefix: INDEX, failures: { status: 503, count: 3 } });
    await codeOf(search(c));
    await codeOf(search(c));
    await clock.advance(150);
    expect((await codeOf(search(c))).code).toBe("UPSTREAM_UNAVAILABLE");
    const before = workspace.counters.requests;
    expect((await codeOf(search(c))).code).toBe("CIRCUIT_OPEN");
    expect(workspace.counters.requests).toBe(before);
  });

  it("keys circuits by host, API family and resource", () => {
    expect(upstreamOf("/api/2.0/genie/spaces/abc/conversations/x/messages/y")).toEqual({
      family: "genie_space",
      resource: "abc",
    });
    expect(upstreamOf("/api/2.0/vector-search/indexes/main.kb.idx/query")).toEqual({
      family: "vector_index",
      resource: "main.kb.idx",
    });
    expect(upstreamOf("/serving-endpoints/agent-a/invocations")).toEqual({
      family: "serving_endpoint",
      resource: "agent-a",
    });
    expect(upstreamOf("/api/2.0/sql/statements/123/result/chunks/1").family).toBe("sql_statements");
  });
});

describe("observer", () => {
  it("sees every upstream answer by family, and a throwing observer changes nothing", async () => {
    const seen: [number, string][] = [];
    const c = client({
      onUpstreamResponse: (status, family) => {
        seen.push([status, family]);
        throw new Error("observer failure");
      },
    });
    workspace.faults.add({ pathPrefix: INDEX, failures: { status: 503, count: 1 } });
    await search(c);
    await statement(c);
    workspace.faults.add({ pathPrefix: INDEX, resets: 1 });
    await search(c);
    expect(seen).toEqual([
      [503, "vector_index"],
      [200, "vector_index"],
      [200, "sql_statements"],
      [0, "vector_index"],
      [200, "vector_index"],
    ]);
  });
});
