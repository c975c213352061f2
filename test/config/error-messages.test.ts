import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startsEmbeddedWorkspace } from "../../src/config/embedded-choice.js";
import { loadConfig } from "../../src/config/load.js";

const minimal = {
  DATABRICKS_HOST: "https://x.cloud.databricks.com",
  DATABRICKS_WAREHOUSE_ID: "w1",
  DATABRICKS_GENIE_SPACE_ID: "sp1",
};
const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("no error");
};

describe("configuration errors name the environment variable a person sets", () => {
  it("a missing warehouse names DATABRICKS_WAREHOUSE_ID", () => {
    expect(message(() => loadConfig({ DATABRICKS_HOST: minimal.DATABRICKS_HOST }))).toMatch(
      /^DATABRICKS_WAREHOUSE_ID: .*Set DATABRICKS_WAREHOUSE_ID/,
    );
  });

  it("an RBAC entry that is not a list of tools names MCP_RBAC and shows an MCP_RBAC example", () => {
    const text = message(() => loadConfig({ ...minimal, MCP_RBAC: '{"west_sales":"check_identity"}' }));
    expect(text).toMatch(/^MCP_RBAC: /);
    expect(text).toContain('{"west_sales":["check_identity"');
    expect(text).not.toContain("MCP_ROLE_TO_SERVICE_PRINCIPAL");
  });

  it("MCP_RBAC that is no JSON shows an MCP_RBAC example, not another variable's", () => {
    const text = message(() => loadConfig({ ...minimal, MCP_RBAC: "west_sales=check_identity" }));
    expect(text).toMatch(/^MCP_RBAC must be JSON \(for example \{"west_sales":\["check_identity"/);
  });

  it("a public URL that is no URL names MCP_PUBLIC_URL", () => {
    expect(message(() => loadConfig({ ...minimal, MCP_PUBLIC_URL: "mcp.example.com/mcp" }))).toMatch(
      /^MCP_PUBLIC_URL: /,
    );
  });

  it("a configuration file that is no YAML names the file", () => {
    const file = join(mkdtempSync(join(tmpdir(), "governed-mcp-yaml-")), "server.yaml");
    writeFileSync(file, "workspace:\n  host: [unclosed\n");
    const text = message(() => loadConfig({ ...minimal, MCP_CONFIG_FILE: file }));
    expect(text).toMatch(new RegExp(`^MCP_CONFIG_FILE: ${file} is not valid YAML: `));
    expect(text.split("\n")).toHaveLength(1);
  });

  it.each(["not-a-url", "https://", "ftp://x.cloud.databricks.com", "https://x.cloud.databricks.com/path?q=1"])(
    "DATABRICKS_HOST=%s is refused, naming DATABRICKS_HOST",
    (host) => {
      expect(message(() => loadConfig({ ...minimal, DATABRICKS_HOST: host }))).toMatch(/^DATABRICKS_HOST /);
    },
  );

  it.each([
    ["dbc-1234abcd-5678.cloud.databricks.com", "https://dbc-1234abcd-5678.cloud.databricks.com"],
    ["https://adb-1.2.azuredatabricks.net/", "https://adb-1.2.azuredatabricks.net"],
    ["http://127.0.0.1:8765", "http://127.0.0.1:8765"],
  ])("DATABRICKS_HOST=%s is read as %s", (host, url) => {
    expect(loadConfig({ ...minimal, DATABRICKS_HOST: host }).workspace.host).toBe(url);
  });
});

describe("the embedded demo workspace is a choice (MCP_EMBEDDED_WORKSPACE)", () => {
  it("development commands keep the embedded default when DATABRICKS_HOST is unset", () => {
    expect(startsEmbeddedWorkspace({})).toBe(true);
    expect(startsEmbeddedWorkspace({ MCP_EMBEDDED_WORKSPACE: "on" })).toBe(true);
  });

  it("off (the image, Databricks Apps) without DATABRICKS_HOST fails with one line naming DATABRICKS_HOST", () => {
    const text = message(() => startsEmbeddedWorkspace({ MCP_EMBEDDED_WORKSPACE: "off" }));
    expect(text).toMatch(/^DATABRICKS_HOST is not set: set it to your workspace URL/);
    expect(text.split("\n")).toHaveLength(1);
  });

  it("a host set never starts the demo; asking for both is refused", () => {
    expect(startsEmbeddedWorkspace({ DATABRICKS_HOST: "https://x.cloud.databricks.com" })).toBe(false);
    expect(startsEmbeddedWorkspace({ DATABRICKS_HOST: "x", MCP_EMBEDDED_WORKSPACE: "off" })).toBe(false);
    expect(() => startsEmbeddedWorkspace({ DATABRICKS_HOST: "x", MCP_EMBEDDED_WORKSPACE: "on" })).toThrow(
      /MCP_EMBEDDED_WORKSPACE=on/,
    );
    expect(() => startsEmbeddedWorkspace({ MCP_EMBEDDED_WORKSPACE: "maybe" })).toThrow(/auto, on or off/);
  });
});
