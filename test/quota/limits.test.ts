import { describe, expect, it } from "vitest";
import { limitsFor } from "../../src/quota/limits.js";
import { QuotaSchema } from "../../src/quota/schema.js";

describe("the limits one call is held to", () => {
  it("by default: 60 a minute and 4 at once per caller, Genie 5 a minute and 10 SQL calls at once workspace-wide", () => {
    const config = QuotaSchema.parse({});
    expect(limitsFor(config, "k", undefined, "genie_query")).toEqual({
      rates: [
        { name: "caller_rate", key: "c:k", perMinute: 60 },
        { name: "genie_rate", key: "u:genie", perMinute: 5 },
      ],
      concurrency: [{ name: "caller_concurrency", key: "c:k", slots: 4 }],
    });
    expect(limitsFor(config, "k", undefined, "query_sales_data").concurrency).toContainEqual({
      name: "sql_in_flight",
      key: "u:sql",
      slots: 10,
    });
  });

  it("a role's limits replace the caller's, field by field; a tool's add a bucket of its own per caller", () => {
    const config = QuotaSchema.parse({
      roles: { executive: { requestsPerMinute: 300 } },
      tools: { ask_supervisor: { requestsPerMinute: 6, concurrentCalls: 1 } },
    });
    const limits = limitsFor(config, "k", "executive", "ask_supervisor");
    expect(limits.rates).toEqual([
      { name: "caller_rate", key: "c:k", perMinute: 300 },
      { name: "tool_rate", key: "t:ask_supervisor:k", perMinute: 6 },
    ]);
    expect(limits.concurrency).toEqual([
      { name: "caller_concurrency", key: "c:k", slots: 4 },
      { name: "tool_concurrency", key: "t:ask_supervisor:k", slots: 1 },
    ]);
  });

  it("0 turns a limit off, and an upstream named in configuration counts the tools it lists", () => {
    const config = QuotaSchema.parse({
      caller: { requestsPerMinute: 0, concurrentCalls: 0 },
      upstreams: { genie: { requestsPerMinute: 0 }, serving: { inFlight: 2, tools: ["ask_supervisor"] } },
    });
    expect(limitsFor(config, "k", undefined, "genie_query")).toEqual({ rates: [], concurrency: [] });
    expect(limitsFor(config, "k", undefined, "ask_supervisor").concurrency).toEqual([
      { name: "serving_in_flight", key: "u:serving", slots: 2 },
    ]);
  });
});
