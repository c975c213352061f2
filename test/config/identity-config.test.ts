import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";

const minimal = {
  DATABRICKS_HOST: "https://example.cloud.databricks.com",
  DATABRICKS_WAREHOUSE_ID: "wh1",
  DATABRICKS_GENIE_SPACE_ID: "sp1",
};

const issuer = (url: string) => ({ issuer: url, audience: "mcp" });

/** A configuration file (MCP_CONFIG_FILE) holding `identity`. */
function configFile(identity: Record<string, unknown>): string {
  const path = join(mkdtempSync(join(tmpdir(), "governed-mcp-config-")), "config.json");
  writeFileSync(path, JSON.stringify({ identity }));
  return path;
}

describe("identity configuration", () => {
  it("configures several Federation issuers from the configuration file", () => {
    const file = configFile({
      federation: {
        issuers: [issuer("https://a.example.com"), issuer("https://b.example.com")],
        roleToServicePrincipal: { west_sales: "sp-west" },
      },
    });
    const config = loadConfig({ ...minimal, MCP_CONFIG_FILE: file });
    expect(config.identity.federation.issuers.map((i) => i.issuer)).toEqual([
      "https://a.example.com",
      "https://b.example.com",
    ]);
  });

  it("configures one Federation issuer from the environment", () => {
    const config = loadConfig({
      ...minimal,
      MCP_FEDERATION_ISSUER: "https://a.example.com",
      MCP_FEDERATION_AUDIENCE: "mcp",
      MCP_ROLE_TO_SERVICE_PRINCIPAL: JSON.stringify({ west_sales: "sp-west" }),
    });
    expect(config.identity.federation.issuers).toHaveLength(1);
  });

  it("refuses the same issuer listed twice (which of its settings would apply is not clear)", () => {
    const file = configFile({
      federation: {
        issuers: [issuer("https://a.example.com"), { ...issuer("https://a.example.com"), audience: "other" }],
        roleToServicePrincipal: { west_sales: "sp-west" },
      },
    });
    expect(() => loadConfig({ ...minimal, MCP_CONFIG_FILE: file })).toThrow(
      /MCP_FEDERATION_ISSUER: each issuer may be listed once \(configuration key identity\.federation\.issuers\)/,
    );
  });

  it("caps inbound token lifetimes at 24 h by default; MCP_MAX_TOKEN_LIFETIME_S changes it", () => {
    expect(loadConfig(minimal).identity.federation.maxTokenLifetimeS).toBe(86_400);
    expect(loadConfig({ ...minimal, MCP_MAX_TOKEN_LIFETIME_S: "3600" }).identity.federation.maxTokenLifetimeS).toBe(
      3600,
    );
    expect(() => loadConfig({ ...minimal, MCP_MAX_TOKEN_LIFETIME_S: "1h" })).toThrow(/MCP_MAX_TOKEN_LIFETIME_S/);
    expect(() => loadConfig({ ...minimal, MCP_MAX_TOKEN_LIFETIME_S: "0" })).toThrow(/maxTokenLifetimeS/);
  });

  it("checks no OBO audience by default; MCP_OBO_AUDIENCE sets one", () => {
    expect(loadConfig(minimal).identity.obo.audience).toBeUndefined();
    expect(loadConfig({ ...minimal, MCP_OBO_AUDIENCE: "governed-mcp" }).identity.obo.audience).toBe("governed-mcp");
  });
});
