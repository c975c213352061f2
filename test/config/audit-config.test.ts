import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";

const minimal = {
  DATABRICKS_HOST: "https://example.cloud.databricks.com",
  DATABRICKS_WAREHOUSE_ID: "wh1",
  DATABRICKS_GENIE_SPACE_ID: "sp1",
};

describe("audit configuration", () => {
  it("bounds records, batches and the spool by default, a batch under the 1 MB of parameter values Databricks documents", () => {
    const { audit } = loadConfig(minimal);
    expect(audit.maxRecordBytes).toBe(16 * 1024);
    expect(audit.maxBatchBytes).toBe(1_000_000);
    expect(audit.maxSpoolRecords).toBe(100_000);
    expect(audit.maxSpoolBytes).toBe(64 * 1024 * 1024);
  });

  it("makes an outcome durable within 10 ms by default, and takes another bound from MCP_AUDIT_COMMIT_DELAY_MS", () => {
    expect(loadConfig(minimal).audit.commitDelayMs).toBe(10);
    expect(loadConfig({ ...minimal, MCP_AUDIT_COMMIT_DELAY_MS: "0" }).audit.commitDelayMs).toBe(0);
  });

  it("sends waiting records to the table every 5 s by default, and takes another interval from MCP_AUDIT_FLUSH_INTERVAL_MS", () => {
    expect(loadConfig(minimal).audit.flushIntervalMs).toBe(5000);
    expect(loadConfig({ ...minimal, MCP_AUDIT_FLUSH_INTERVAL_MS: "500" }).audit.flushIntervalMs).toBe(500);
  });

  it("takes the bounds from the environment", () => {
    const { audit } = loadConfig({
      ...minimal,
      MCP_AUDIT_MAX_RECORD_BYTES: "8192",
      MCP_AUDIT_MAX_BATCH_BYTES: "524288",
      MCP_AUDIT_SPOOL_MAX_RECORDS: "5000",
      MCP_AUDIT_SPOOL_MAX_BYTES: "2097152",
    });
    expect(audit).toMatchObject({
      maxRecordBytes: 8192,
      maxBatchBytes: 524_288,
      maxSpoolRecords: 5000,
      maxSpoolBytes: 2_097_152,
    });
  });

  it.each([
    ["MCP_AUDIT_MAX_BATCH_BYTES", "16777216"],
    ["MCP_AUDIT_MAX_RECORD_BYTES", "100"],
    ["MCP_AUDIT_SPOOL_MAX_RECORDS", "0"],
    ["MCP_AUDIT_SPOOL_MAX_BYTES", "1000"],
    ["MCP_AUDIT_SPOOL_MAX_BYTES", "lots"],
    ["MCP_AUDIT_COMMIT_DELAY_MS", "5000"],
    ["MCP_AUDIT_COMMIT_DELAY_MS", "-1"],
    ["MCP_AUDIT_FLUSH_INTERVAL_MS", "10"],
    ["MCP_AUDIT_FLUSH_INTERVAL_MS", "7200000"],
  ])("refuses %s=%s, naming the variable", (variable, value) => {
    expect(() => loadConfig({ ...minimal, [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ...minimal, [variable]: value })).toThrow(new RegExp(variable));
  });
});
