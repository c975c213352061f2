import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkspaceHttpClient } from "../../src/databricks/http-client.js";
import { createWorkspaceApi } from "../../src/databricks/workspace-api.js";
import type { GovernedError } from "../../src/errors.js";
import { FakeClock } from "../support/fake-clock.js";

/**
 * The local workspace runs every statement at once, so it never shows a warehouse that is still starting. This
 * loopback server answers the Statement Execution API the way a cold warehouse does: the statement stays in the
 * documented PENDING (or RUNNING) state, and `/cancel` is accepted.
 */
let server: Server;
let host: string;
let state: "PENDING" | "RUNNING";
let polls = 0;
const cancels: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    const send = (body: unknown) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.method === "POST" && req.url === "/api/2.0/sql/statements")
      return send({ statement_id: "01f0-cold", status: { state } });
    if (req.method === "GET" && req.url === "/api/2.0/sql/statements/01f0-cold") {
      polls += 1;
      return send({ statement_id: "01f0-cold", status: { state } });
    }
    if (req.method === "POST" && req.url === "/api/2.0/sql/statements/01f0-cold/cancel") {
      cancels.push(req.url);
      return send({});
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const DEADLINE_MS = 30_000;

/** Runs one statement to its deadline, moving only a fake clock: the deadline comes when the clock says, not the wall. */
async function runUntilDeadline(): Promise<{ err: GovernedError; polls: number; waitedMs: number }> {
  const clock = new FakeClock();
  const http = new WorkspaceHttpClient(host, { clock });
  const expiresAt = clock.now() / 1000 + 3600;
  const credential = { token: async () => ({ accessToken: "t", expiresAt, scopes: ["sql"] }) };
  const api = createWorkspaceApi(http, credential, { requestId: "r1", queryTags: {} });
  const started = clock.now();
  const deadline = started + DEADLINE_MS;
  const pollsBefore = polls;
  try {
    // Timers at the deadline guard requests in flight; the test only wakes the client's sleeps between polls.
    const work = api.executeStatement({
      warehouseId: "w",
      statement: "SELECT 1",
      parameters: [],
      rowLimit: 1,
      deadline,
    });
    await clock.drive(work, deadline);
    throw new Error("expected a failure");
  } catch (err) {
    return { err: err as GovernedError, polls: polls - pollsBefore, waitedMs: clock.now() - started };
  } finally {
    await http.close();
  }
}

describe("a statement still waiting when the tool's deadline comes", () => {
  it("is WAREHOUSE_STARTING (retry in a minute) when the warehouse never picked it up, and is cancelled", async () => {
    state = "PENDING";
    cancels.length = 0;
    const { err, polls, waitedMs } = await runUntilDeadline();
    expect(err.code).toBe("WAREHOUSE_STARTING");
    expect(err.details.retryAfterS).toBe(60);
    expect(cancels).toHaveLength(1);
    // Backoff 100 ms doubling to 1 s: it kept polling until the next wait would have crossed the deadline.
    expect(polls).toBeGreaterThan(20);
    expect(waitedMs).toBeGreaterThan(DEADLINE_MS - 1000);
    expect(waitedMs).toBeLessThan(DEADLINE_MS);
  });

  it("is TIMEOUT when the statement was running, and is cancelled", async () => {
    state = "RUNNING";
    cancels.length = 0;
    const { err, waitedMs } = await runUntilDeadline();
    expect(err.code).toBe("TIMEOUT");
    expect(cancels).toHaveLength(1);
    expect(waitedMs).toBeGreaterThan(DEADLINE_MS - 1000);
  });
});
