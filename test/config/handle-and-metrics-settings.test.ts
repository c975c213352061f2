import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";

const minimal = {
  DATABRICKS_HOST: "https://example.cloud.databricks.com",
  DATABRICKS_WAREHOUSE_ID: "wh1",
  DATABRICKS_GENIE_SPACE_ID: "sp1",
};

/** The one-line start-up error for an environment, or undefined when it loads. */
function startupError(env: Record<string, string>): string | undefined {
  try {
    loadConfig({ ...minimal, ...env });
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
}

describe("conversation handle and metrics settings", () => {
  it("read MCP_HANDLE_SECRET, MCP_METRICS_TOKEN, MCP_METRICS_HOST and MCP_METRICS_PORT", () => {
    const config = loadConfig({
      ...minimal,
      MCP_HANDLE_SECRET: "s".repeat(32),
      MCP_METRICS_TOKEN: "t".repeat(16),
      MCP_METRICS_HOST: "10.0.0.5",
      MCP_METRICS_PORT: "9464",
    });
    expect(config.server.handleSecret).toBe("s".repeat(32));
    expect(config.observability).toMatchObject({
      metricsToken: "t".repeat(16),
      metricsHost: "10.0.0.5",
      metricsPort: 9464,
    });
  });

  it("leave all four unset by default", () => {
    const config = loadConfig(minimal);
    expect(config.server.handleSecret).toBeUndefined();
    expect(config.observability.metricsToken).toBeUndefined();
    expect(config.observability.metricsPort).toBeUndefined();
  });

  it.each([
    [
      "a handle secret under 32 bytes",
      { MCP_HANDLE_SECRET: "x".repeat(31) },
      /MCP_HANDLE_SECRET must be at least 32 bytes/,
    ],
    [
      "a metrics token under 16 characters",
      { MCP_METRICS_TOKEN: "short-token" },
      /MCP_METRICS_TOKEN must be at least 16/,
    ],
    ["a metrics port that is no integer", { MCP_METRICS_PORT: "http" }, /MCP_METRICS_PORT must be an integer/],
    ["a metrics host without a port", { MCP_METRICS_HOST: "0.0.0.0" }, /set MCP_METRICS_PORT too/],
  ])("refuse %s, naming the variable and never echoing a secret", (_, env, says) => {
    const message = startupError(env);
    expect(message).toMatch(says);
    expect(message).not.toMatch(/x{31}|short-token/);
  });

  it("count the handle secret in bytes, not characters", () => {
    expect(startupError({ MCP_HANDLE_SECRET: "é".repeat(16) })).toBeUndefined();
    expect(startupError({ MCP_HANDLE_SECRET: "é".repeat(15) })).toMatch(/MCP_HANDLE_SECRET/);
  });
});
