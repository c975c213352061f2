import { appendFileSync, closeSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AuditSpool } from "../../src/audit/spool.js";

const freshDir = () => mkdtempSync(join(tmpdir(), "audit-spool-test-"));
const record = (n: number) => ({ record_id: `r-${n}`, tool: "check_identity", n });

describe("AuditSpool", () => {
  it("appends records durably: a new spool on the same directory finds them pending, in order", async () => {
    const dir = freshDir();
    const spool = new AuditSpool(dir);
    for (const n of [1, 2, 3]) await spool.append(record(n));
    await spool.close();
    const reopened = new AuditSpool(dir);
    expect(reopened.pending().map((r) => r.record_id)).toEqual(["r-1", "r-2", "r-3"]);
    await reopened.close();
  });

  it("skips a torn last line (a crash mid-write) and keeps every whole record", async () => {
    const dir = freshDir();
    const spool = new AuditSpool(dir);
    await spool.append(record(1));
    await spool.append(record(2));
    await spool.close();
    appendFileSync(join(dir, "audit-spool.jsonl"), '{"record_id":"r-3","tool":"chec');
    const reopened = new AuditSpool(dir);
    expect(reopened.pending().map((r) => r.record_id)).toEqual(["r-1", "r-2"]);
    // Compaction rewrote the file without the torn line, so the next append starts on a clean line.
    await reopened.append(record(4));
    await reopened.close();
    expect(new AuditSpool(dir).pending().map((r) => r.record_id)).toEqual(["r-1", "r-2", "r-4"]);
  });

  it("group-commits concurrent appends: N appends at once cost fewer fsyncs than N", async () => {
    const spool = new AuditSpool(freshDir());
    await Promise.all(Array.from({ length: 50 }, (_, n) => spool.append(record(n))));
    expect(spool.appends).toBe(50);
    expect(spool.depth()).toBe(50);
    expect(spool.syncs).toBeGreaterThanOrEqual(1);
    expect(spool.syncs).toBeLessThan(50);
    await spool.close();
  });

  it("does not replay acknowledged records, and replays each unacknowledged one exactly once", async () => {
    const dir = freshDir();
    const spool = new AuditSpool(dir);
    for (const n of [1, 2, 3, 4]) await spool.append(record(n));
    await spool.ack(["r-1", "r-3"]);
    expect(spool.pending().map((r) => r.record_id)).toEqual(["r-2", "r-4"]);
    await spool.close();
    // A record appended twice (a retried write before a crash) is still one pending record.
    appendFileSync(join(dir, "audit-spool.jsonl"), `${JSON.stringify(record(2))}\n`);
    const reopened = new AuditSpool(dir);
    expect(reopened.pending().map((r) => r.record_id)).toEqual(["r-2", "r-4"]);
    await reopened.ack(["r-2", "r-4"]);
    await reopened.close();
    const last = new AuditSpool(dir);
    expect(last.depth()).toBe(0);
    expect(readFileSync(join(dir, "audit-spool.jsonl"), "utf8")).toBe("");
    await last.close();
  });

  it("ignores lines that are not records (garbage, ids missing) instead of failing to start", async () => {
    const dir = freshDir();
    writeFileSync(join(dir, "audit-spool.jsonl"), `not json\n{"no_id":1}\n${JSON.stringify(record(9))}\n`);
    const spool = new AuditSpool(dir);
    expect(spool.pending().map((r) => r.record_id)).toEqual(["r-9"]);
    await spool.close();
  });

  it("pending(limit) returns the oldest records first, at most limit", async () => {
    const spool = new AuditSpool(freshDir());
    for (const n of [1, 2, 3]) await spool.append(record(n));
    expect(spool.pending(2).map((r) => r.record_id)).toEqual(["r-1", "r-2"]);
    await spool.close();
  });
});

describe("AuditSpool size", () => {
  it("counts the bytes of pending records, across a reopen, and forgets acknowledged ones", async () => {
    const dir = freshDir();
    const spool = new AuditSpool(dir);
    for (const n of [1, 2, 3]) await spool.append(record(n));
    const line = Buffer.byteLength(`${JSON.stringify(record(1))}\n`);
    expect(spool.bytes()).toBe(3 * line);
    await spool.ack(["r-2"]);
    expect(spool.bytes()).toBe(2 * line);
    await spool.close();
    const reopened = new AuditSpool(dir);
    expect(reopened.bytes()).toBe(2 * line);
    await reopened.close();
  });

  it("empties its files once everything in them is written, so a long-running spool does not grow forever", async () => {
    const dir = freshDir();
    const spool = new AuditSpool(dir, 512);
    for (let round = 0; round < 5; round += 1) {
      const ids = Array.from({ length: 20 }, (_, n) => `r-${round}-${n}`);
      for (const id of ids) await spool.append({ record_id: id, tool: "check_identity" });
      await spool.ack(ids);
    }
    expect(spool.compactions).toBe(5);
    expect(readFileSync(join(dir, "audit-spool.jsonl"), "utf8")).toBe("");
    expect(readFileSync(join(dir, "audit-acked.jsonl"), "utf8")).toBe("");
    // Appends after emptying land at the start of the file and survive a reopen.
    await spool.append(record(7));
    await spool.close();
    const reopened = new AuditSpool(dir);
    expect(reopened.pending().map((r) => r.record_id)).toEqual(["r-7"]);
    await reopened.close();
  });

  it("keeps its files while any record is still pending", async () => {
    const dir = freshDir();
    const spool = new AuditSpool(dir, 16);
    await spool.append(record(1));
    await spool.append(record(2));
    await spool.ack(["r-1"]);
    expect(spool.compactions).toBe(0);
    await spool.close();
    expect(new AuditSpool(dir).pending().map((r) => r.record_id)).toEqual(["r-2"]);
  });
});

describe("AuditSpool intents and outcomes", () => {
  it("keeps a call's intent pending as its record when its outcome cannot be written", async () => {
    const spool = new AuditSpool(freshDir());
    await spool.begin({ record_id: "r-1", request_id: "req-1", outcome: "unknown" });
    // The spool file's descriptor closed under it: the next write fails as a full or failing disk would.
    closeSync((spool as unknown as { file: { fd: number } }).file.fd);
    expect(() => spool.finish({ record_id: "r-1", outcome: "allowed" })).toThrow();
    expect(spool.pending()).toEqual([{ record_id: "r-1", request_id: "req-1", outcome: "unknown" }]);
  });
});
