import { describe, expect, it } from "vitest";
import { loadConfig, parseConfig, ConfigError } from "../../src/config/load.js";
import { DEFAULT_RBAC, DEFAULT_TOOL_NAMES } from "../../tools/index.js";

const minimal = {
  DATABRICKS_HOST: "https://example.cloud.databricks.com",
  DATABRICKS_WAREHOUSE_ID: "wh1",
  DATABRICKS_GENIE_SPACE_ID: "sp1",
};

describe("configuration", () => {
  it("fills safe defaults: loopback, stdio, proxy header untrusted, anonymous M2M off", () => {
    const config = loadConfig(minimal);
    expect(config.server.host).toBe("127.0.0.1");
    expect(config.server.transport).toBe("stdio");
    expect(config.identity.obo.trustProxyHeader).toBe(false);
    expect(config.identity.m2m.allowHttpCallers).toBe(false);
    // No MCP_RBAC: the roles each catalog entry names decide.
    expect(config.policy.rbac).toBeUndefined();
  });

  it("trusts the Apps proxy header by default only inside Databricks Apps", () => {
    expect(loadConfig({ ...minimal, DATABRICKS_APP_NAME: "governed-mcp" }).identity.obo.trustProxyHeader).toBe(true);
    expect(
      loadConfig({ ...minimal, DATABRICKS_APP_NAME: "governed-mcp", MCP_TRUST_PROXY_HEADER: "false" }).identity.obo
        .trustProxyHeader,
    ).toBe(false);
  });

  it("names the missing key and the fix", () => {
    expect(() => loadConfig({ DATABRICKS_HOST: "https://x.cloud.databricks.com" })).toThrow(/workspace\.warehouseId/);
  });

  it("refuses a boolean that is not a boolean, naming the variable", () => {
    expect(() => loadConfig({ ...minimal, MCP_TRUST_PROXY_HEADER: "maybe" })).toThrow(ConfigError);
    expect(() => loadConfig({ ...minimal, MCP_TRUST_PROXY_HEADER: "maybe" })).toThrow(/MCP_TRUST_PROXY_HEADER/);
  });

  it("refuses a table name that is not catalog.schema.table (identifiers never come from free text)", () => {
    expect(() => loadConfig({ ...minimal, MCP_SALES_TABLE: "main.sales.deals; DROP TABLE x" })).toThrow(
      /three-part name/,
    );
  });

  it("refuses Federation without any role mapping", () => {
    expect(() =>
      loadConfig({ ...minimal, MCP_FEDERATION_ISSUER: "https://idp.example.com", MCP_FEDERATION_AUDIENCE: "mcp" }),
    ).toThrow(/MCP_ROLE_TO_SERVICE_PRINCIPAL: Federation is configured/);
  });

  it("refuses a clock tolerance above 60 s", () => {
    expect(() =>
      parseConfig({
        workspace: { warehouseId: "w", genieSpaceId: "g" },
        identity: { federation: { clockToleranceS: 300 } },
      }),
    ).toThrow(/clockToleranceS/);
  });

  it("refuses an RBAC matrix naming a tool that does not exist", () => {
    expect(() => loadConfig({ ...minimal, MCP_RBAC: JSON.stringify({ west_sales: ["DROP TABLES"] }) })).toThrow(
      /policy\.rbac/,
    );
  });

  it("keeps the default matrix of DESIGN.md: audit log for executive, finance, admin; supervisor for executive, admin", () => {
    const withTool = (tool: string) =>
      Object.entries(DEFAULT_RBAC)
        .filter(([, tools]) => tools.includes(tool as never))
        .map(([role]) => role)
        .sort();
    expect(withTool("query_audit_log")).toEqual(["admin", "executive", "finance"]);
    expect(withTool("ask_supervisor")).toEqual(["admin", "executive"]);
    expect(withTool("check_identity")).toHaveLength(6);
    expect(DEFAULT_RBAC.admin).toEqual([...DEFAULT_TOOL_NAMES]);
  });
});
