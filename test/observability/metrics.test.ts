import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp, federationBearer } from "../support/mcp-clients.js";
import { ServerMetrics } from "../../src/observability/metrics.js";
import { callOrRefusal } from "../support/results.js";

/** The value of one sample line of a Prometheus text exposition, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[3] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[4]);
  }
  return undefined;
}

let stack: TestStack;
let west: Client;
beforeAll(async () => {
  stack = await startTestStack();
  west = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "west_sales"));
});
afterAll(async () => {
  await west?.close();
  await stack?.stop();
});

async function scrape(): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${stack.app.http!.url}/metrics`);
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

describe("/metrics (Prometheus text)", () => {
  it("counts tool calls by tool, outcome and mode, with a latency histogram per tool", async () => {
    const ok = await west.callTool({ name: "check_identity", arguments: {} });
    expect(ok.isError).toBeFalsy();
    const denied = await callOrRefusal(west, { name: "query_audit_log", arguments: {} });
    expect(denied.isError).toBe(true);

    const { status, type, text } = await scrape();
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain/);
    expect(
      sample(text, "mcp_tool_calls_total", { tool: "check_identity", outcome: "allowed", mode: "federation" }),
    ).toBe(1);
    expect(
      sample(text, "mcp_tool_calls_total", { tool: "query_audit_log", outcome: "denied", mode: "federation" }),
    ).toBe(1);
    expect(sample(text, "mcp_tool_call_duration_seconds_count", { tool: "check_identity", outcome: "allowed" })).toBe(
      1,
    );
    expect(text).toContain('mcp_tool_call_duration_seconds_bucket{le="+Inf",tool="check_identity",outcome="allowed"}');
  });

  it("folds tool names no catalog knows into one label value, so callers cannot create series", async () => {
    await callOrRefusal(west, { name: "drop_table_42", arguments: {} });
    const { text } = await scrape();
    expect(text).not.toContain("drop_table_42");
    expect(sample(text, "mcp_tool_calls_total", { tool: "other", outcome: "denied" })).toBeGreaterThanOrEqual(1);
  });

  it("reports token cache misses, hits and exchanges, and the audit spool depth", async () => {
    await west.callTool({ name: "check_identity", arguments: {} });
    await west.callTool({ name: "check_identity", arguments: {} });
    const { text } = await scrape();
    // The first call missed and exchanged west_sales' token once; later calls were served from the cache.
    expect(sample(text, "mcp_token_cache_misses_total")).toBeGreaterThanOrEqual(1);
    expect(sample(text, "mcp_token_exchanges_total")).toBeGreaterThanOrEqual(1);
    expect(sample(text, "mcp_token_cache_hits_total")).toBeGreaterThanOrEqual(2);
    const depth = sample(text, "mcp_audit_spool_depth");
    expect(depth).toBeGreaterThanOrEqual(0);
    expect(Number.isInteger(depth)).toBe(true);
  });

  it("reports the audit spool's bytes, records set aside, calls refused and records not spooled because it was full", async () => {
    await west.callTool({ name: "check_identity", arguments: {} });
    const { text } = await scrape();
    expect(Number.isInteger(sample(text, "mcp_audit_spool_bytes"))).toBe(true);
    expect(sample(text, "mcp_audit_dead_letters_total")).toBe(0);
    expect(sample(text, "mcp_audit_spool_full_refusals_total")).toBe(0);
    expect(sample(text, "mcp_audit_unspooled_records_total")).toBe(0);

    const audit = { depth: () => 7, spoolBytes: () => 4096, deadLetters: 2, refusedCalls: 3, unspooledRecords: 1 };
    const own = await new ServerMetrics({ audit: () => audit }).text();
    expect(sample(own, "mcp_audit_spool_depth")).toBe(7);
    expect(sample(own, "mcp_audit_spool_bytes")).toBe(4096);
    expect(sample(own, "mcp_audit_dead_letters_total")).toBe(2);
    expect(sample(own, "mcp_audit_spool_full_refusals_total")).toBe(3);
    expect(sample(own, "mcp_audit_unspooled_records_total")).toBe(1);
  });

  it("counts workspace error answers by status and API family", async () => {
    stack.workspace.faults.add({ pathPrefix: "/api/2.0/preview/scim/v2/Me", failures: { status: 500, count: 1 } });
    // fresh: the workspace view of this credential may be cached from an earlier call.
    await west.callTool({ name: "check_identity", arguments: { fresh: true } });
    stack.workspace.faults.clear();
    const { text } = await scrape();
    const errors = text.split("\n").filter((l) => l.startsWith("mcp_upstream_errors_total{"));
    expect(errors.some((l) => l.includes('status="500"'))).toBe(true);
  });

  it("names no person, role or token in any sample", async () => {
    const { text } = await scrape();
    expect(text).not.toMatch(/@example\.com|wendy|west_sales|eyJ/);
  });

  it("is absent when MCP_METRICS=false", async () => {
    const off = await startTestStack({ env: { MCP_METRICS: "false" } });
    try {
      const res = await fetch(`${off.app.http!.url}/metrics`);
      expect(res.status).toBe(404);
      expect(off.app.metrics).toBeUndefined();
    } finally {
      await off.stop();
    }
  });
});
