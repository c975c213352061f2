import diagnosticsChannel from "node:diagnostics_channel";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CommittedFile } from "../../src/audit/committed-file.js";
import { WorkspaceHttpClient } from "../../src/databricks/http-client.js";
import { FakeClock } from "../support/fake-clock.js";

const freshPath = () => join(mkdtempSync(join(tmpdir(), "committed-file-test-")), "spool.jsonl");

/** A sync the test releases by hand, so what waits on the disk can be seen waiting. */
function gatedSync() {
  const gates: { release: () => void; fail: (err: Error) => void }[] = [];
  const sync = () =>
    new Promise<void>((release, fail) => {
      gates.push({ release, fail });
    });
  return { sync, gates };
}

/** Lets promise continuations and I/O callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function tracked(promise: Promise<void>) {
  const state = { settled: false, failed: undefined as unknown };
  promise.then(
    () => (state.settled = true),
    (err: unknown) => {
      state.settled = true;
      state.failed = err;
    },
  );
  return state;
}

describe("CommittedFile", () => {
  it("puts an append in the file before it returns, before any sync: it survives a crash of the process", () => {
    const path = freshPath();
    const { sync, gates } = gatedSync();
    const file = new CommittedFile(path, { sync });
    file.append("first\n");
    expect(readFileSync(path, "utf8")).toBe("first\n");
    expect(gates).toHaveLength(0);
    expect(file.syncs).toBe(0);
  });

  it("resolves a commit only once a sync that started after the append has finished", async () => {
    const { sync, gates } = gatedSync();
    const file = new CommittedFile(freshPath(), { sync });
    const commit = tracked(file.commit(file.append("a\n")));
    await settle();
    expect(gates).toHaveLength(1);
    expect(commit.settled).toBe(false);
    gates[0]!.release();
    await settle();
    expect(commit.settled).toBe(true);
    expect(file.syncs).toBe(1);
  });

  it("starts a sync for an append made just after one started, without waiting for that one to end", async () => {
    const { sync, gates } = gatedSync();
    const file = new CommittedFile(freshPath(), { sync });
    const first = tracked(file.commit(file.append("outcome 1\n")));
    const second = tracked(file.commit(file.append("intent 2\n")));
    await settle();
    expect(gates).toHaveLength(2);
    gates[1]!.release();
    await settle();
    // The later sync covers both appends, whatever order the syncs end in.
    expect(first.settled && second.settled).toBe(true);
    gates[0]!.release();
  });

  it("group-commits: at most two syncs at once, and appends made meanwhile share the next one", async () => {
    const { sync, gates } = gatedSync();
    const file = new CommittedFile(freshPath(), { sync });
    const commits = [1, 2, 3, 4, 5].map((n) => tracked(file.commit(file.append(`${n}\n`))));
    await settle();
    expect(gates).toHaveLength(2);
    gates[0]!.release();
    await settle();
    expect(commits.map((c) => c.settled)).toEqual([true, false, false, false, false]);
    // Appends 3–5 came while two syncs ran: one more sync covers them all.
    expect(gates).toHaveLength(3);
    gates[1]!.release();
    gates[2]!.release();
    await settle();
    expect(commits.every((c) => c.settled && c.failed === undefined)).toBe(true);
    expect(file.syncs).toBe(3);
  });

  it("starts the sync of a commit that may wait when no sync is under way (an idle disk), once the caller's step is done", async () => {
    const clock = new FakeClock();
    const { sync, gates } = gatedSync();
    const file = new CommittedFile(freshPath(), { sync, clock });
    const commit = tracked(file.commit(file.append("intent\n"), 10, { startIfIdle: true }));
    // Not inside the caller's step, nor in the turn that ends it: the request its intent precedes is written then.
    expect(gates).toHaveLength(0);
    await settle();
    expect(gates).toHaveLength(0);
    await settle();
    expect(gates).toHaveLength(1);
    gates[0]!.release();
    await settle();
    expect(commit.settled).toBe(true);
    expect(clock.waiting).toBe(0);
  });

  it("starts that sync after the workspace client has written the request made in the same step", async () => {
    // The workspace client reuses a keep-alive socket only at the end of the turn a request was made in.
    const server = createServer((req, res) => req.resume().on("end", () => res.end("{}")));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const client = new WorkspaceHttpClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const token = { accessToken: "t", expiresAt: Number.MAX_SAFE_INTEGER, scopes: [] };
    const credential = { token: () => Promise.resolve(token), current: () => token };
    const post = () => client.request({ method: "POST", path: "/api/2.0/sql/statements", body: {}, credential });
    const order: string[] = [];
    const written = () => order.push("request written");
    const file = new CommittedFile(freshPath(), {
      clock: new FakeClock(),
      sync: () => Promise.resolve(void order.push("sync started")),
    });
    diagnosticsChannel.subscribe("undici:request:bodySent", written);
    try {
      await post(); // opens the socket the next request reuses
      order.length = 0;
      const durable = file.commit(file.append("intent\n"), 10, { startIfIdle: true });
      await Promise.all([durable, post()]);
      expect(order).toEqual(["request written", "sync started"]);
    } finally {
      diagnosticsChannel.unsubscribe("undici:request:bodySent", written);
      await client.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("closes with a sync of its own when a commit's sync was still to start, and starts none on the closed file", async () => {
    const { sync, gates } = gatedSync();
    const file = new CommittedFile(freshPath(), { sync, clock: new FakeClock() });
    const commit = tracked(file.commit(file.append("intent\n"), 10, { startIfIdle: true }));
    const closed = tracked(file.close());
    expect(gates).toHaveLength(1); // close's own
    gates[0]!.release();
    await settle();
    await settle();
    expect([commit.settled, commit.failed, closed.settled]).toEqual([true, undefined, true]);
    expect(gates).toHaveLength(1);
  });

  it("lets commits that may wait share one sync while another runs, started by a hurry or by their delay", async () => {
    const clock = new FakeClock();
    const { sync, gates } = gatedSync();
    const file = new CommittedFile(freshPath(), { sync, clock });
    const first = tracked(file.commit(file.append("a\n")));
    await settle();
    const b = file.append("b\n");
    const second = tracked(file.commit(b, 10, { startIfIdle: true }));
    const third = tracked(file.commit(file.append("c\n"), 10, { startIfIdle: true }));
    await settle();
    // The sync under way started before b and c; theirs waits (a second sync would start at once if they wanted it).
    expect(gates).toHaveLength(1);
    gates[0]!.release();
    await settle();
    expect([first.settled, second.settled, third.settled]).toEqual([true, false, false]);
    expect(gates).toHaveLength(1);
    file.hurry(b);
    await settle();
    expect(gates).toHaveLength(2);
    gates[1]!.release();
    await settle();
    // One sync covered both: c was written before it started.
    expect([second.settled, third.settled]).toEqual([true, true]);
    expect(file.syncs).toBe(2);

    // Unhurried, the delay starts it.
    const fourth = tracked(file.commit(file.append("d\n"), 10, { startIfIdle: true }));
    await settle();
    await settle();
    expect(gates).toHaveLength(3); // the disk was idle again: at once
    const fifth = tracked(file.commit(file.append("e\n"), 10, { startIfIdle: true }));
    await settle();
    expect(gates).toHaveLength(3);
    gates[2]!.release();
    await clock.advance(9);
    expect([fourth.settled, fifth.settled, gates.length]).toEqual([true, false, 3]);
    await clock.advance(1);
    expect(gates).toHaveLength(4);
    gates[3]!.release();
    await settle();
    expect(fifth.settled).toBe(true);
  });

  it("starts no sync for a hurry that a sync under way or done already covers", async () => {
    const { sync, gates } = gatedSync();
    const file = new CommittedFile(freshPath(), { sync });
    const a = file.append("a\n");
    void file.commit(a);
    await settle();
    file.hurry(a);
    await settle();
    expect(gates).toHaveLength(1);
    gates[0]!.release();
    await settle();
    file.hurry(a);
    await settle();
    expect(gates).toHaveLength(1);
  });

  it("makes a delayed commit durable within its delay on the clock, and not before", async () => {
    const clock = new FakeClock();
    const { sync, gates } = gatedSync();
    const file = new CommittedFile(freshPath(), { sync, clock });
    const commit = tracked(file.commit(file.append("outcome\n"), 10));
    await clock.advance(9);
    expect(gates).toHaveLength(0);
    await clock.advance(1);
    expect(gates).toHaveLength(1);
    gates[0]!.release();
    await settle();
    expect(commit.settled).toBe(true);
  });

  it("lets an immediate commit carry the delayed appends before it, and then drops the delayed sync", async () => {
    const clock = new FakeClock();
    const { sync, gates } = gatedSync();
    const file = new CommittedFile(freshPath(), { sync, clock });
    const outcome = tracked(file.commit(file.append("outcome\n"), 10));
    const intent = tracked(file.commit(file.append("intent\n")));
    await settle();
    gates[0]!.release();
    await settle();
    expect(outcome.settled && intent.settled).toBe(true);
    await clock.advance(10);
    expect(gates).toHaveLength(1);
    expect(clock.waiting).toBe(0);
  });

  it("under steady load moves the delayed sync to the oldest outcome still waiting, so other commits' syncs carry them", async () => {
    const clock = new FakeClock();
    const { sync, gates } = gatedSync();
    const file = new CommittedFile(freshPath(), { sync, clock });
    const first = tracked(file.commit(file.append("outcome 1\n"), 10));
    await clock.advance(4);
    void file.commit(file.append("intent 2\n"));
    await settle();
    const second = tracked(file.commit(file.append("outcome 2\n"), 10)); // due at 14
    gates[0]!.release();
    await settle();
    expect(first.settled).toBe(true);
    await clock.advance(6); // 10: the first outcome's deadline, already met
    expect(gates).toHaveLength(1);
    await clock.advance(4); // 14: the second outcome's deadline
    expect(gates).toHaveLength(2);
    gates[1]!.release();
    await settle();
    expect(second.settled).toBe(true);
  });

  it("rejects the commits a failed sync covered, and a later commit tries again", async () => {
    const { sync, gates } = gatedSync();
    const file = new CommittedFile(freshPath(), { sync });
    const failed = tracked(file.commit(file.append("a\n")));
    await settle();
    gates[0]!.fail(Object.assign(new Error("EIO"), { code: "EIO" }));
    await settle();
    expect(failed.failed).toMatchObject({ code: "EIO" });
    const retried = tracked(file.commit(file.append("b\n")));
    await settle();
    gates[1]!.release();
    await settle();
    expect(retried.settled && retried.failed === undefined).toBe(true);
  });

  it("syncs what is still only in the kernel when it closes", async () => {
    const clock = new FakeClock();
    let syncs = 0;
    const file = new CommittedFile(freshPath(), { clock, sync: async () => void (syncs += 1) });
    void file.commit(file.append("outcome\n"), 1000);
    await file.close();
    expect(syncs).toBe(1);
  });
});
