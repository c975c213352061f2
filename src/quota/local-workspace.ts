/**
 * Quotas against the embedded local workspace: off, because it has none of a real workspace's limits to protect and it
 * is the test bed of calls at full speed. Settings a person makes (environment, MCP_CONFIG_FILE) still apply on top.
 */
export const LOCAL_WORKSPACE_QUOTA = {
  caller: { requestsPerMinute: 0, concurrentCalls: 0 },
  upstreams: { genie: { requestsPerMinute: 0 }, sql: { inFlight: 0 } },
};

/** The same, as the environment of a server process pointed at a running local workspace. */
export const LOCAL_WORKSPACE_QUOTA_ENV: Record<string, string> = {
  MCP_QUOTA_CALLER_PER_MINUTE: "0",
  MCP_QUOTA_CALLER_CONCURRENT: "0",
  MCP_QUOTA_GENIE_PER_MINUTE: "0",
  MCP_QUOTA_STATEMENTS_IN_FLIGHT: "0",
};
