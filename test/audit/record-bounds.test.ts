import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { AuditTrail } from "../../src/audit/audit-trail.js";
import { buildAuditInsert, recordInsertBytes } from "../../src/audit/audit-insert.js";
import { boundedText } from "../../src/audit/record-bounds.js";
import { canonicalArguments } from "../../src/audit/redact.js";
import type { SpooledRecord } from "../../src/audit/spool.js";
import type { AuditEntry } from "../../src/mcp/tool-dispatcher.js";
import { FakeClock } from "../support/fake-clock.js";
import { trailConfig } from "./audit-writer.js";

const unreachable = async () => {
  throw new Error("no table in this test");
};

/** Spools each entry through a fresh trail (never started: nothing is sent) and returns the records as spooled. */
async function spooled(entries: Partial<AuditEntry>[], audit: Record<string, unknown> = {}): Promise<SpooledRecord[]> {
  const config = trailConfig(undefined, audit);
  const trail = new AuditTrail(config, pino({ level: "silent" }), unreachable, { clock: new FakeClock() });
  for (const entry of entries)
    await trail.record({
      requestId: "req-1",
      mode: "federation",
      credentialSource: "exchange",
      tool: "check_identity",
      arguments: {},
      outcome: "failed",
      latencyMs: 3,
      statementIds: [],
      ...entry,
    });
  return readFileSync(join(config.audit.spoolDir, "audit-spool.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as SpooledRecord);
}

/** Bytes a record adds to an INSERT request as actually serialized, measured against a batch without it. */
function actualInsertBytes(record: SpooledRecord): number {
  const size = (records: SpooledRecord[]) =>
    Buffer.byteLength(JSON.stringify(buildAuditInsert("main.governance.mcp_audit", records)));
  const other = { ...record, record_id: "other" };
  return size([other, record]) - size([other]);
}

const HUGE = 1024 * 1024;
const surrogates = "\ud800x\udfff".repeat(HUGE / 3);

/** Inputs a caller (or a long-running tool) controls, each aimed at one way a record used to grow. */
const hostile: [string, Partial<AuditEntry>][] = [
  [
    "~1 MiB of quotes in 950 strings under the per-string cut",
    {
      arguments: { fresh: Array.from({ length: 19 }, () => Array.from({ length: 50 }, () => '"'.repeat(500))) },
    },
  ],
  ["one string of 1 MiB of backslashes", { arguments: { q: "\\".repeat(HUGE) } }],
  [
    "50 keys of 64 quotes each, 6 levels deep",
    {
      arguments: nest(6, () =>
        Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`${'"'.repeat(60)}${i}`, '"'.repeat(512)])),
      ),
    },
  ],
  ["100,000 levels of nesting", { arguments: nest(100_000, () => "bottom") }],
  ["control characters and lone surrogates", { arguments: { a: "\u0000\u001b".repeat(HUGE / 2), b: surrogates } }],
  [
    "every text field at 1 MiB of quotes",
    {
      requestId: '"'.repeat(HUGE),
      human: '"'.repeat(HUGE),
      workspacePrincipal: surrogates,
      role: "\u0000".repeat(HUGE),
      tool: '"'.repeat(HUGE),
      mode: '"'.repeat(HUGE),
      credentialSource: '"'.repeat(HUGE),
      errorCode: '"'.repeat(HUGE),
      arguments: { q: '"'.repeat(HUGE) },
    },
  ],
  ["10,000 statement ids of 1 KiB", { statementIds: Array.from({ length: 10_000 }, () => '"'.repeat(1024)) }],
];

function nest(levels: number, leaf: () => unknown): unknown {
  let value = leaf();
  for (let i = 0; i < levels; i += 1) value = { d: value };
  return value;
}

describe("an audit record has a bounded size whatever the input", () => {
  it.each(hostile)("stays under audit.maxRecordBytes as the INSERT carries it: %s", async (_name, entry) => {
    const [record] = await spooled([entry]);
    const limit = trailConfig(undefined).audit.maxRecordBytes;
    expect(recordInsertBytes(record!)).toBeLessThanOrEqual(limit);
    expect(actualInsertBytes(record!)).toBeLessThanOrEqual(recordInsertBytes(record!));
  });

  it("holds a smaller configured ceiling too (MCP_AUDIT_MAX_RECORD_BYTES)", async () => {
    for (const [, entry] of hostile) {
      const [record] = await spooled([entry], { maxRecordBytes: 8192 });
      expect(recordInsertBytes(record!)).toBeLessThanOrEqual(8192);
    }
  });

  it("keeps arguments that fit whole (secrets still removed)", async () => {
    const [record] = await spooled([{ arguments: { region: "WEST", limit: 5, token: "abc" } }]);
    expect(JSON.parse(record!.arguments as string)).toEqual({ region: "WEST", limit: 5, token: "[redacted]" });
  });

  it("turns arguments beyond the bound into a preview, the SHA-256 of the canonical arguments and their size", async () => {
    const args = { z: "tail", a: "x".repeat(400), list: Array.from({ length: 50 }, (_, i) => `item-${i}`.repeat(70)) };
    const [record] = await spooled([{ arguments: args }]);
    const { $summary } = JSON.parse(record!.arguments as string) as {
      $summary: { sha256: string; bytes: number; preview: string };
    };
    // Canonical: keys sorted, no whitespace.
    const canonical = JSON.stringify({ a: args.a, list: args.list, z: args.z });
    expect($summary.sha256).toBe(createHash("sha256").update(canonical).digest("hex"));
    expect($summary.bytes).toBe(Buffer.byteLength(canonical));
    // The preview: the arguments as redacted for the row, in their own order, cut to fit.
    expect($summary.preview.startsWith(`{"z":"tail","a":"${"x".repeat(400)}","list":["item-0`)).toBe(true);
    expect($summary.preview.length).toBeGreaterThan(10_000);
  });

  it("digests the arguments with secrets replaced, so the digest cannot confirm a guessed secret", async () => {
    const secret = "hunter2-the-password";
    const args = {
      password: secret,
      note: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
      q: Array(50).fill("y".repeat(500)),
    };
    const [record] = await spooled([{ arguments: args }]);
    expect(record!.arguments).not.toContain(secret);
    const { $summary } = JSON.parse(record!.arguments as string) as { $summary: { sha256: string } };
    const withSecret = createHash("sha256").update(JSON.stringify({ note: args.note, password: secret, q: args.q }));
    expect($summary.sha256).not.toBe(withSecret.digest("hex"));
    expect(canonicalArguments(args)).toBe(JSON.stringify({ note: "[redacted]", password: "[redacted]", q: args.q }));
  });

  it("caps each text field, says when it was cut, and replaces characters no SQL string can hold", async () => {
    const [record] = await spooled([
      { human: `${"h".repeat(400)}@example.com`, tool: `bad\u0000tool${"t".repeat(200)}`, role: "r\ud800" },
    ]);
    expect(record!.human).toBe(`${"h".repeat(319)}…`);
    expect(record!.tool).toMatch(/^bad\ufffdtoolt+…$/);
    expect((record!.tool as string).length).toBe(128);
    expect(record!.role).toBe("r\ufffd");
  });

  it.each([
    ["plain text as it is", "erin.exec@example.com", "erin.exec@example.com"],
    ["a surrogate pair as it is", "team \ud83d\ude80 sales", "team \ud83d\ude80 sales"],
    ["DEL and C0 controls replaced", "a\u007fb\u001fc", "a\ufffdb\ufffdc"],
    ["a lone high surrogate replaced", "x\ud83dy", "x\ufffdy"],
    ["a lone low surrogate replaced", "\ude80z", "\ufffdz"],
  ])("bounds a text column: %s", (_, value, expected) => {
    expect(boundedText(value, 64)).toBe(expected);
  });

  it("keeps the statement ids that fit and says how many were left out", async () => {
    const ids = Array.from({ length: 500 }, (_, i) => `01f0-statement-${String(i).padStart(4, "0")}`);
    const [record] = await spooled([{ statementIds: ids }]);
    const kept = JSON.parse(record!.statement_ids as string) as string[];
    expect(kept.length).toBeGreaterThan(10);
    expect(kept.slice(0, -1)).toEqual(ids.slice(0, kept.length - 1));
    expect(kept.at(-1)).toBe(`…${ids.length - kept.length + 1} more`);
  });
  it("keeps a few ids whole, and any number of ids fits however many escapes they hold", async () => {
    const { carriedBytes } = await import("../../src/audit/record-bounds.js");
    for (const char of ["\\", '"', "é"]) {
      for (let n = 1; n <= 10; n += 1) {
        const ids = Array.from({ length: n }, () => char.repeat(64));
        const [record] = await spooled([{ statementIds: ids }]);
        expect(carriedBytes(record!.statement_ids as string)).toBeLessThanOrEqual(2048);
        if (n <= 3) expect(JSON.parse(record!.statement_ids as string)).toEqual(ids);
      }
    }
  });
});

describe("the byte count of a column value", () => {
  it("is exactly what the INSERT carries (JSON within the batch's JSON string), for plain text and for escapes", async () => {
    const { carriedBytes } = await import("../../src/audit/record-bounds.js");
    const samples = [
      "",
      "plain-id_123 ok",
      'a"quote',
      "back\\slash",
      "tab\there",
      "\u0001",
      "é",
      "日本",
      "\ud83d\ude00",
      "\ud800",
      "~ ! } {",
    ];
    for (const value of samples)
      expect(carriedBytes(value), JSON.stringify(value)).toBe(
        Buffer.byteLength(JSON.stringify(JSON.stringify(value))) - 2,
      );
    expect(carriedBytes(null)).toBe(4);
  });
});
