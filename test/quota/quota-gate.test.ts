import pino from "pino";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import type { CallerIdentity } from "../../src/identity/types.js";
import { QuotaGate, QuotaRefusal, withinQuota, withQuotaLimit } from "../../src/quota/quota-gate.js";
import { QuotaStore } from "../../src/quota/quota-store.js";
import { QuotaSchema, type CallerLimits } from "../../src/quota/schema.js";
import { auditOutcomeFor } from "../../src/errors.js";
import { catalogLimitsOf, parseCatalogLimits } from "../../src/quota/open.js";

const call = (tool: string) => ({ tool, timeoutMs: 60_000 });
const user = (human: string): CallerIdentity => ({ mode: "obo", source: "bearer", human, scopes: [] });

function gate(settings: Record<string, unknown>, catalogLimits: Record<string, CallerLimits> = {}): QuotaGate {
  const config = QuotaSchema.parse(settings);
  return new QuotaGate(config, QuotaStore.open(config, pino({ level: "silent" }), systemClock), {
    catalogLimits,
    callersRemembered: 100,
  });
}

/** Calls `tool` `count` times at once as `who`, each returning at once; the codes of the refusals, in order. */
async function calls(g: QuotaGate, who: CallerIdentity, tool: string, count: number) {
  const results = await Promise.all(
    Array.from({ length: count }, () =>
      withinQuota(g, who, call(tool), () => Promise.resolve("ok")).catch((err: unknown) => err),
    ),
  );
  return {
    admitted: results.filter((r) => r === "ok").length,
    refused: results.filter((r): r is QuotaRefusal => r instanceof QuotaRefusal),
  };
}

describe("the quota gate", () => {
  it("admits exactly a caller's per-minute limit and refuses the rest with RATE_LIMITED and retry_after_s", async () => {
    const g = gate({ caller: { requestsPerMinute: 5, concurrentCalls: 0 } });
    const { admitted, refused } = await calls(g, user("ann@example.com"), "check_identity", 8);
    expect(admitted).toBe(5);
    expect(refused).toHaveLength(3);
    for (const r of refused) {
      expect(r.code).toBe("RATE_LIMITED");
      expect(r.limit).toBe("caller_rate");
      expect(r.details.retryAfterS).toBeGreaterThanOrEqual(1);
      expect(r.details.retryAfterS).toBeLessThanOrEqual(60);
      expect(auditOutcomeFor(r)).toBe("denied");
    }
    expect(g.refusals.get("caller_rate")).toBe(3);
  });

  it("is fair: a flooding caller refused at its own limit takes nothing from a workspace-wide bucket", async () => {
    const g = gate({
      caller: { requestsPerMinute: 5, concurrentCalls: 0 },
      upstreams: { genie: { requestsPerMinute: 10 } },
    });
    const flood = await calls(g, user("flood@example.com"), "genie_query", 200);
    expect(flood.admitted).toBe(5);
    const bystander = await calls(g, user("bystander@example.com"), "genie_query", 5);
    expect(bystander.admitted).toBe(5);
    // The workspace-wide bucket then holds what is left of it, for everyone.
    const third = await calls(g, user("third@example.com"), "genie_query", 5);
    expect(third.admitted).toBe(0);
    expect(third.refused[0]?.limit).toBe("genie_rate");
  });

  it("holds a caller's concurrent calls to its limit and gives slots back however a call ends", async () => {
    const g = gate({ caller: { concurrentCalls: 2 } });
    const ann = user("ann@example.com");
    let finish!: () => void;
    const held = new Promise<void>((resolve) => (finish = resolve));
    const running = [
      withinQuota(g, ann, call("check_identity"), () => held),
      withinQuota(g, ann, call("check_identity"), () => held),
    ];
    await new Promise((r) => setImmediate(r));
    const third = await withinQuota(g, ann, call("check_identity"), () => Promise.resolve()).catch((e: unknown) => e);
    expect(third).toBeInstanceOf(QuotaRefusal);
    expect((third as QuotaRefusal).limit).toBe("caller_concurrency");
    // Another caller is not held up by ann's slots.
    await expect(
      withinQuota(g, user("bob@example.com"), call("check_identity"), () => Promise.resolve(1)),
    ).resolves.toBe(1);
    finish();
    await Promise.all(running);
    await expect(
      withinQuota(g, ann, call("check_identity"), () => Promise.reject(new Error("tool failed"))),
    ).rejects.toThrow("tool failed");
    const both = await calls(g, ann, "check_identity", 2);
    expect(both.admitted).toBe(2);
  });

  it("a refused concurrency slot gives back the slots the call had already taken", async () => {
    const g = gate({ caller: { concurrentCalls: 5 }, upstreams: { sql: { inFlight: 1 } } });
    const ann = user("ann@example.com");
    let finish!: () => void;
    const running = withinQuota(
      g,
      user("bob@example.com"),
      call("query_sales_data"),
      () => new Promise<void>((r) => (finish = r)),
    );
    await new Promise((r) => setImmediate(r));
    const refusals = await calls(g, ann, "query_sales_data", 5);
    expect(refusals.refused.map((r) => r.limit)).toEqual(Array(5).fill("sql_in_flight"));
    // ann's own slots were all given back: five calls of another tool still run at once.
    let release!: () => void;
    const gate5 = new Promise<void>((r) => (release = r));
    const five = Array.from({ length: 5 }, () => withinQuota(g, ann, call("check_identity"), () => gate5));
    release();
    await Promise.all(five);
    finish();
    await running;
  });

  it("a tool catalog's per-tool limits win over the configuration's for that tool", async () => {
    const g = gate(
      { caller: { requestsPerMinute: 0, concurrentCalls: 0 }, tools: { ask_supervisor: { requestsPerMinute: 5 } } },
      { ask_supervisor: { requestsPerMinute: 2 } },
    );
    const { admitted, refused } = await calls(g, user("ann@example.com"), "ask_supervisor", 4);
    expect(admitted).toBe(2);
    expect(refused[0]?.limit).toBe("tool_rate");
    expect(refused[0]?.message).toMatch(/2 per minute/);
  });

  it("reads each catalog entry's limits by tool name, and only entries that have them", () => {
    expect(
      catalogLimitsOf({
        tools: [
          { name: "github_search", kind: "uc-connection", limits: { requestsPerMinute: 3 } },
          { name: "check_identity", kind: "identity" },
        ],
      }),
    ).toEqual({ github_search: { requestsPerMinute: 3 } });
    expect(catalogLimitsOf(undefined)).toEqual({});
  });

  it("refuses at start a catalog entry whose limits are not limits, naming the tool", () => {
    expect(() => parseCatalogLimits({ github_search: { requestsPerMinute: -1 } })).toThrow(
      /catalog entry github_search: limits take requestsPerMinute and concurrentCalls/,
    );
    expect(() => parseCatalogLimits({ github_search: { callsPerHour: 5 } })).toThrow(/github_search/);
    expect(parseCatalogLimits({ github_search: { concurrentCalls: 1 } })).toEqual({
      github_search: { concurrentCalls: 1 },
    });
  });

  it("tells the door when a caller's per-minute limit is already spent, without taking a point", async () => {
    const g = gate({ caller: { requestsPerMinute: 2 } });
    const ann = user("ann@example.com");
    expect(await g.spentBefore(ann)).toBeUndefined();
    expect(await g.spentBefore(ann)).toBeUndefined();
    await calls(g, ann, "check_identity", 2);
    const spent = await g.spentBefore(ann);
    expect(spent).toBeInstanceOf(QuotaRefusal);
    expect(spent?.limit).toBe("caller_rate");
  });

  it("names the limit that fired in the audit row's arguments, under the server's own key", () => {
    const refusal = new QuotaRefusal("genie_rate", "5 per minute", 12);
    expect(withQuotaLimit({ question: "q", $quota: "forged" }, refusal)).toEqual({
      question: "q",
      $quota: "genie_rate: 5 per minute",
    });
    expect(withQuotaLimit([1], refusal)).toEqual({ $arguments: [1], $quota: "genie_rate: 5 per minute" });
    expect(withQuotaLimit({ question: "q" }, new Error("other"))).toEqual({ question: "q" });
  });
});
