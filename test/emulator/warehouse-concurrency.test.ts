import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkspaceClient } from "@databricks/sdk-experimental";
import pg from "pg";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { FakeClock } from "../support/fake-clock.js";
import { servicePrincipalToken } from "../support/workspace-tokens.js";

// The local workspace behaves like a warehouse: the REST front end answers while statements run on the engine
// apart from it, statements of different callers run at once, wait_timeout and cancel act on the running statement.
// Statements are held "running" by an advisory lock the test holds, never by a sleep; wait_timeout runs on a fake
// clock the test moves.

const WEST_SP = "5e5e0001-0000-4000-8000-000000000001";
const EAST_SP = "5e5e0002-0000-4000-8000-000000000002";
const MANAGERS_SP = "5e5e0003-0000-4000-8000-000000000003";
const EXEC_SP = "5e5e0004-0000-4000-8000-000000000004";
const SERVER_SP = "5e5e0000-0000-4000-8000-00000000a0d1";
const LOCK = 4242;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- statement responses are probed field by field
type Json = Record<string, any>;

let clock: FakeClock;
let workspace: LocalWorkspace;
let superuser: pg.Client;
let warehouseId: string;
const tokens = new Map<string, string>();

beforeAll(async () => {
  clock = new FakeClock();
  // Longer than every bounded wait below: a statement that only the maximum run time ended would fail those waits.
  workspace = await startLocalWorkspace({ clock, maxRunTimeMs: 120_000 });
  warehouseId = workspace.context.seed.warehouses[0]!.id;
  superuser = new pg.Client({ connectionString: workspace.context.engine.database.url });
  await superuser.connect();
  for (const sp of [WEST_SP, EAST_SP, MANAGERS_SP, EXEC_SP, SERVER_SP])
    tokens.set(sp, await servicePrincipalToken(workspace, sp, "sql"));
});

afterAll(async () => {
  await superuser?.end();
  await workspace?.close();
});

/**
 * A statement that runs until the test releases the advisory lock it holds (`tag` finds it in pg_stat_activity);
 * it asks for the lock shared, so once released, any number of them go on at once.
 */
const heldStatement = (tag: string) =>
  `SELECT '${tag}' AS tag, count(*) AS n FROM (SELECT pg_advisory_xact_lock_shared(${LOCK})) AS l`;

async function post(sp: string, body: Json): Promise<Json> {
  const res = await fetch(`${workspace.baseUrl}/api/2.0/sql/statements`, {
    method: "POST",
    headers: { authorization: `Bearer ${tokens.get(sp)}`, "content-type": "application/json" },
    body: JSON.stringify({ warehouse_id: warehouseId, ...body }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

async function status(sp: string, id: string): Promise<Json> {
  const res = await fetch(`${workspace.baseUrl}/api/2.0/sql/statements/${id}`, {
    headers: { authorization: `Bearer ${tokens.get(sp)}` },
  });
  return (await res.json()) as Json;
}

/** Polls until the statement is no longer PENDING or RUNNING; bounded generously, the bound decides nothing. */
async function settled(sp: string, id: string): Promise<Json> {
  let polled = await status(sp, id);
  for (const end = Date.now() + 30_000; ["PENDING", "RUNNING"].includes(polled.status.state) && Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 20));
    polled = await status(sp, id);
  }
  return polled;
}

/** Backends running a statement whose text holds `tag`, as the superuser sees them. */
async function activeBackends(tag: string): Promise<number> {
  const { rows } = await superuser.query<{ n: string }>(
    "SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
    [`%${tag}%`],
  );
  return Number(rows[0]!.n);
}

/** Waits until `count` backends run the tagged statement (each is then blocked on the lock). */
async function untilActive(tag: string, count: number): Promise<void> {
  for (const end = Date.now() + 30_000; (await activeBackends(tag)) !== count && Date.now() < end;)
    await new Promise((r) => setTimeout(r, 10));
  expect(await activeBackends(tag)).toBe(count);
}

async function withLockHeld<T>(work: () => Promise<T>): Promise<T> {
  await superuser.query("SELECT pg_advisory_lock($1)", [LOCK]);
  try {
    return await work();
  } finally {
    await superuser.query("SELECT pg_advisory_unlock($1)", [LOCK]);
  }
}

const sdkClient = (sp: string) =>
  new WorkspaceClient({ host: workspace.baseUrl, authType: "pat", token: tokens.get(sp)! });

describe("statements run on the engine, apart from the REST front end", () => {
  it("four callers' statements run at the same time: all four are active on the engine at once, then all succeed", async () => {
    // Each waits on the lock the test holds; run one at a time, a second could not be active before the first ends.
    const callers = [WEST_SP, EAST_SP, MANAGERS_SP, EXEC_SP];
    const submitted = await withLockHeld(async () => {
      const posted = await Promise.all(
        callers.map((sp) => post(sp, { statement: heldStatement("four-at-once"), wait_timeout: "0s" })),
      );
      await untilActive("four-at-once", 4);
      return posted;
    });
    const done = await Promise.all(callers.map((sp, i) => settled(sp, submitted[i]!.statement_id)));
    expect(done.map((d) => d.status.state)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
    expect(done.map((d) => d.result.data_array)).toEqual(callers.map(() => [["four-at-once", "1"]]));
  });

  it("while one caller's statement runs, another principal's SCIM Me and a status poll are answered", async () => {
    await withLockHeld(async () => {
      const running = await post(WEST_SP, { statement: heldStatement("front-end"), wait_timeout: "0s" });
      await untilActive("front-end", 1);
      const me = await fetch(`${workspace.baseUrl}/api/2.0/preview/scim/v2/Me`, {
        headers: { authorization: `Bearer ${await servicePrincipalToken(workspace, EXEC_SP)}` },
      });
      expect(me.status).toBe(200);
      expect((await status(WEST_SP, running.statement_id)).status.state).toBe("RUNNING");
      // Both were answered while the statement still waits on the lock the test holds.
      expect(await activeBackends("front-end")).toBe(1);
    });
  });
});

describe("wait_timeout and on_wait_timeout", () => {
  it("CONTINUE answers RUNNING with the statement id at wait_timeout, and the statement runs once", async () => {
    const client = sdkClient(EXEC_SP);
    const before = workspace.counters.statements.length;
    const { answer, id } = await withLockHeld(async () => {
      let answered = false;
      const pending = client.statementExecution
        .executeStatement({
          warehouse_id: warehouseId,
          statement: heldStatement("continue"),
          wait_timeout: "5s",
          on_wait_timeout: "CONTINUE",
        })
        .finally(() => (answered = true));
      await untilActive("continue", 1);
      await clock.untilWaiting(1);
      await clock.advance(4_999);
      expect(answered).toBe(false);
      await clock.advance(1);
      const answer = await pending;
      return { answer, id: answer.statement_id! };
    });
    expect(answer.status?.state).toBe("RUNNING");
    expect(answer.statement_id).toMatch(/^[0-9a-f-]{36}$/);
    const done = await settled(EXEC_SP, id);
    expect(done.status.state).toBe("SUCCEEDED");
    expect(done.result.data_array).toEqual([["continue", "1"]]);
    // Answered at wait_timeout, the client had no reason to retry: one execution in the counters.
    expect(workspace.counters.statements.length - before).toBe(1);
  });

  it("CANCEL answers CANCELED at wait_timeout and the statement's backend stops", async () => {
    const client = sdkClient(EXEC_SP);
    await withLockHeld(async () => {
      const pending = client.statementExecution.executeStatement({
        warehouse_id: warehouseId,
        statement: heldStatement("cancel-at-timeout"),
        wait_timeout: "5s",
        on_wait_timeout: "CANCEL",
      });
      await untilActive("cancel-at-timeout", 1);
      await clock.untilWaiting(1);
      await clock.advance(5_000);
      const answer = await pending;
      expect(answer.status?.state).toBe("CANCELED");
      // The lock is still held: only the cancel can have ended the backend's statement.
      await untilActive("cancel-at-timeout", 0);
      expect((await status(EXEC_SP, answer.statement_id!)).status.state).toBe("CANCELED");
    });
  });
});

describe("cancel and the maximum run time", () => {
  it("cancel stops a CPU-bound statement: its backend is no longer active", async () => {
    const client = sdkClient(WEST_SP);
    const running = await client.statementExecution.executeStatement({
      warehouse_id: warehouseId,
      statement: "SELECT 'cpu-bound' AS tag, count(*) AS n FROM generate_series(1, 100000000000) AS g",
      wait_timeout: "0s",
    });
    await untilActive("cpu-bound", 1);
    await client.statementExecution.cancelExecution({ statement_id: running.statement_id! });
    expect((await status(WEST_SP, running.statement_id!)).status.state).toBe("CANCELED");
    await untilActive("cpu-bound", 0);
  });

  it("POST .../cancel is acknowledged while the statement runs; it ends CANCELED and its INSERT writes nothing", async () => {
    const client = sdkClient(SERVER_SP);
    const recordId = "cancelled-insert-0001";
    await withLockHeld(async () => {
      const running = await client.statementExecution.executeStatement({
        warehouse_id: warehouseId,
        statement: `INSERT INTO main.governance.mcp_audit (record_id, event_time, tool) SELECT '${recordId}', now(), 'cancel-insert' FROM (SELECT pg_advisory_xact_lock(${LOCK})) AS l`,
        wait_timeout: "0s",
      });
      await untilActive("cancel-insert", 1);
      // Acknowledged while the statement still waits on the test's lock: the front end did not wait on the engine.
      await client.statementExecution.cancelExecution({ statement_id: running.statement_id! });
      expect((await status(SERVER_SP, running.statement_id!)).status.state).toBe("CANCELED");
      await untilActive("cancel-insert", 0);
    });
    const written = await superuser.query("SELECT count(*) AS n FROM governance.mcp_audit WHERE record_id = $1", [
      recordId,
    ]);
    expect(written.rows[0]).toEqual({ n: "0" });
  });

  it("a statement past the maximum run time ends FAILED with Databricks' timeout error", async () => {
    const short = await startLocalWorkspace({ maxRunTimeMs: 1_000 });
    const admin = new pg.Client({ connectionString: short.context.engine.database.url });
    await admin.connect();
    try {
      await admin.query("SELECT pg_advisory_lock($1)", [LOCK]);
      const token = await servicePrincipalToken(short, EXEC_SP, "sql");
      const res = await fetch(`${short.baseUrl}/api/2.0/sql/statements`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ warehouse_id: warehouseId, statement: heldStatement("too-long"), wait_timeout: "50s" }),
      });
      const body = (await res.json()) as Json;
      expect(body.status.state).toBe("FAILED");
      expect(body.status.error.error_code).toBe("DEADLINE_EXCEEDED");
      expect(body.status.error.message).toMatch(/^\[QUERY_EXECUTION_TIMEOUT_EXCEEDED\] .*\(1s\)/);
      expect(body.status.sql_state).toBe("57KD0");
    } finally {
      await admin.end();
      await short.close();
    }
  });
});
