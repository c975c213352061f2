import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadConfig } from "../../src/config/load.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { connectHttp, federationBearer } from "../support/mcp-clients.js";

const ROOT = resolve(import.meta.dirname, "../..");
const appYaml = parseYaml(readFileSync(resolve(ROOT, "deploy/app.yaml"), "utf8")) as {
  command: string[];
  env: { name: string; value?: string; valueFrom?: string }[];
};

/** What Databricks Apps sets in every app's environment, plus what app.yaml adds (resources resolved). */
function appsEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    DATABRICKS_APP_NAME: "governed-mcp",
    DATABRICKS_APP_PORT: "8000",
    DATABRICKS_HOST: "adb-1234567890123456.7.azuredatabricks.net",
    DATABRICKS_CLIENT_ID: "app-sp-application-id",
    DATABRICKS_CLIENT_SECRET: "app-sp-secret",
  };
  for (const e of appYaml.env) env[e.name] = e.value ?? `resource:${e.valueFrom}`;
  return { ...env, ...overrides };
}

describe("deploy/app.yaml for Databricks Apps", () => {
  it("starts the HTTP transport with the CLI the package ships", () => {
    expect(appYaml.command).toEqual(["node", "bin/databricks-governed-mcp.js", "serve", "--http"]);
  });

  it("with the platform's variables yields a configuration: all interfaces, the app port, proxy-header trust, https host", () => {
    const appHost = "governed-mcp-1234567890123456.7.azure.databricksapps.com";
    const config = loadConfig(appsEnvironment({ MCP_PUBLIC_URL: `https://${appHost}` }));
    // The public URL's host is allowed in Host without being listed again.
    expect(config.server.allowedHosts).toEqual([appHost]);
    expect(config.server.host).toBe("0.0.0.0");
    expect(config.server.port).toBe(8000);
    expect(config.identity.obo.trustProxyHeader).toBe(true);
    expect(config.identity.m2m.allowHttpCallers).toBe(false);
    // The platform may give a bare host name; it is read as https, as the Databricks SDKs do.
    expect(config.workspace.host).toBe("https://adb-1234567890123456.7.azuredatabricks.net");
    expect(config.workspace.warehouseId).toBe("resource:sql-warehouse");
  });

  it("refuses to start until the app's own URL replaces the placeholder, naming the setting", () => {
    expect(() => loadConfig(appsEnvironment())).toThrow(
      /^MCP_PUBLIC_URL still holds the placeholder <app-name>: replace it/,
    );
  });

  it("an unedited placeholder in any variable is refused, naming the variable", () => {
    const appHost = "governed-mcp-1234567890123456.7.azure.databricksapps.com";
    const edited = { MCP_PUBLIC_URL: `https://${appHost}` };
    expect(() =>
      loadConfig(appsEnvironment({ ...edited, MCP_ALLOWED_HOSTS: "<app-name>.databricksapps.com" })),
    ).toThrow(/^MCP_ALLOWED_HOSTS still holds the placeholder <app-name>/);
    expect(() => loadConfig(appsEnvironment({ ...edited, DATABRICKS_CLIENT_ID: "${DATABRICKS_CLIENT_ID}" }))).toThrow(
      /^DATABRICKS_CLIENT_ID holds \$\{DATABRICKS_CLIENT_ID\} unexpanded/,
    );
  });

  it("never serves the demo workspace (MCP_EMBEDDED_WORKSPACE=off)", () => {
    expect(appYaml.env.find((e) => e.name === "MCP_EMBEDDED_WORKSPACE")?.value).toBe("off");
  });

  it("names only settings the server reads (a typo would be silently ignored)", () => {
    const read = ["load.ts", "embedded-choice.ts"]
      .map((file) => readFileSync(resolve(ROOT, "src/config", file), "utf8"))
      .join("\n");
    for (const { name } of appYaml.env) expect(read, name).toMatch(new RegExp(`\\b${name}\\b`));
  });

  it("keeps secrets out: no value of a secret-named variable is written in the file", () => {
    for (const e of appYaml.env) if (/SECRET|TOKEN|PASSWORD/.test(e.name)) expect(e.value, e.name).toBeUndefined();
  });
});

describe("behind the Apps proxy (OBO)", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ env: { DATABRICKS_APP_NAME: "governed-mcp" } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("acts as the user of x-forwarded-access-token and ignores the proxy's identity headers", async () => {
    const { access_token } = await stack.workspace.tokens.issue("olivia.obo@example.com", ["all-apis"], 3600);
    const client = await connectHttp(stack.mcpUrl, {
      "x-forwarded-access-token": access_token,
      // Informational headers the proxy also sets; a mismatch must not change who the call runs as.
      "x-forwarded-email": "ada.admin@example.com",
      "x-forwarded-user": "ada.admin@example.com",
      "x-forwarded-preferred-username": "ada.admin",
    });
    try {
      const result = await client.callTool({ name: "check_identity", arguments: {} });
      expect(result.isError).toBeFalsy();
      const identity = result.structuredContent as { mode: string; workspace_principal: string; human: string };
      expect(identity.mode).toBe("obo");
      expect(identity.workspace_principal).toBe("olivia.obo@example.com");
      expect(identity.human).toBe("olivia.obo@example.com");
    } finally {
      await client.close();
    }
  });

  it("still accepts Federation bearers next to the proxy header trust", async () => {
    const client = await connectHttp(stack.mcpUrl, await federationBearer(stack.workspace, "east_sales"));
    try {
      const result = await client.callTool({ name: "check_identity", arguments: {} });
      expect((result.structuredContent as { mode: string }).mode).toBe("federation");
    } finally {
      await client.close();
    }
  });
});
