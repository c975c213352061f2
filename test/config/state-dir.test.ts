import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { defaultSpoolDir, userStateDir } from "../../src/config/state-dir.js";

const minimal = {
  DATABRICKS_HOST: "https://x.cloud.databricks.com",
  DATABRICKS_WAREHOUSE_ID: "w1",
  DATABRICKS_GENIE_SPACE_ID: "sp1",
};

describe("the per-user state directory", () => {
  it("is $XDG_STATE_HOME, else ~/.local/state, on Linux", () => {
    expect(userStateDir({ XDG_STATE_HOME: "/x/state", HOME: "/home/u" }, "linux")).toBe(
      join("/x/state", "databricks-governed-mcp"),
    );
    expect(userStateDir({ HOME: "/home/u" }, "linux")).toBe(join("/home/u/.local/state", "databricks-governed-mcp"));
  });

  it("is the OS equivalent on macOS and Windows", () => {
    expect(userStateDir({ HOME: "/Users/u" }, "darwin")).toBe(
      join("/Users/u/Library/Application Support", "databricks-governed-mcp"),
    );
    expect(userStateDir({ LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" }, "win32")).toContain(
      "databricks-governed-mcp",
    );
  });

  it("stdio's audit spool defaults to it, not to the current directory", () => {
    const env = { ...minimal, XDG_STATE_HOME: "/x/state", HOME: "/home/u" };
    expect(loadConfig(env).audit.spoolDir).toBe(defaultSpoolDir(env));
    expect(defaultSpoolDir(env, "linux")).toBe("/x/state/databricks-governed-mcp/spool");
  });

  it("HTTP run by hand defaults to it too, not to the current directory", () => {
    const env = { ...minimal, XDG_STATE_HOME: "/x/state", MCP_TRANSPORT: "http" };
    expect(loadConfig(env).audit.spoolDir).toBe(join("/x/state", "databricks-governed-mcp", "spool"));
  });

  it("a chosen MCP_AUDIT_SPOOL_DIR wins (the image's volume); Databricks Apps keeps its documented .spool", () => {
    const env = { ...minimal, XDG_STATE_HOME: "/x/state", MCP_TRANSPORT: "http" };
    expect(loadConfig({ ...env, MCP_AUDIT_SPOOL_DIR: "/var/spool/mcp" }).audit.spoolDir).toBe("/var/spool/mcp");
    expect(loadConfig({ ...env, DATABRICKS_APP_NAME: "mcp" }).audit.spoolDir).toBe(".spool");
  });
});
