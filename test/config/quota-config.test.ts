import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";

const minimal = {
  DATABRICKS_HOST: "https://example.cloud.databricks.com",
  DATABRICKS_WAREHOUSE_ID: "wh1",
  DATABRICKS_GENIE_SPACE_ID: "sp1",
};

describe("quota configuration", () => {
  it("defaults protect a small workspace: memory store, 60/min and 4 at once per caller, Genie 5/min, 10 SQL calls at once", () => {
    const { quota } = loadConfig(minimal);
    expect(quota.store).toBe("memory");
    expect(quota.replicas).toBe(1);
    expect(quota.caller).toEqual({ requestsPerMinute: 60, concurrentCalls: 4 });
    expect(quota.upstreams.genie).toEqual({ requestsPerMinute: 5, inFlight: 0, tools: ["genie_query"] });
    expect(quota.upstreams.sql).toMatchObject({
      inFlight: 10,
      tools: ["query_sales_data", "query_audit_log", "get_region_summary"],
    });
  });

  it("maps the environment: store, replicas, caller limits, per-role and per-tool JSON, upstream limits", () => {
    const { quota } = loadConfig({
      ...minimal,
      MCP_QUOTA_STORE: "postgres://quota:pw@db.internal:5432/quotas",
      MCP_QUOTA_REPLICAS: "3",
      MCP_QUOTA_CALLER_PER_MINUTE: "120",
      MCP_QUOTA_CALLER_CONCURRENT: "2",
      MCP_QUOTA_ROLES: '{"executive":{"requestsPerMinute":300}}',
      MCP_QUOTA_TOOLS: '{"ask_supervisor":{"concurrentCalls":1}}',
      MCP_QUOTA_GENIE_PER_MINUTE: "20",
      MCP_QUOTA_STATEMENTS_IN_FLIGHT: "40",
      MCP_QUOTA_STORE_TIMEOUT_MS: "1500",
      MCP_QUOTA_STORE_RETRY_MS: "3000",
    });
    expect(quota).toMatchObject({
      store: "postgres://quota:pw@db.internal:5432/quotas",
      replicas: 3,
      storeTimeoutMs: 1500,
      storeRetryMs: 3000,
      caller: { requestsPerMinute: 120, concurrentCalls: 2 },
      roles: { executive: { requestsPerMinute: 300 } },
      tools: { ask_supervisor: { concurrentCalls: 1 } },
    });
    // Setting one upstream's limit keeps its tools and the other upstream's defaults.
    expect(quota.upstreams.genie).toEqual({ requestsPerMinute: 20, inFlight: 0, tools: ["genie_query"] });
    expect(quota.upstreams.sql.inFlight).toBe(40);
  });

  it("refuses a store it cannot use, naming MCP_QUOTA_STORE and never echoing the URL (it may hold a password)", () => {
    const attempt = () => loadConfig({ ...minimal, MCP_QUOTA_STORE: "redis://:s3cret-pw@cache:6379" });
    expect(attempt).toThrow(/MCP_QUOTA_STORE must be 'memory' or a postgres:\/\/ URL/);
    expect(attempt).not.toThrow(/s3cret-pw/);
  });

  it("refuses a negative limit, zero replicas and an unknown limit field", () => {
    expect(() => loadConfig({ ...minimal, MCP_QUOTA_CALLER_PER_MINUTE: "-1" })).toThrow(
      /quota\.caller\.requestsPerMinute/,
    );
    expect(() => loadConfig({ ...minimal, MCP_QUOTA_REPLICAS: "0" })).toThrow(/quota\.replicas/);
    expect(() => loadConfig({ ...minimal, MCP_QUOTA_ROLES: '{"admin":{"rpm":5}}' })).toThrow(/quota\.roles\.admin/);
    expect(() => loadConfig({ ...minimal, MCP_QUOTA_TOOLS: "ask_supervisor=1" })).toThrow(
      /MCP_QUOTA_TOOLS must be JSON \(for example \{"ask_supervisor":\{"concurrentCalls":1\}\}\)/,
    );
  });
});
