import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";

const WORKSPACE = { workspace: { host: "https://w.example.com", warehouseId: "w", genieSpaceId: "g" } };
const KEY = randomBytes(32).toString("base64");

describe("settings of the per-user patterns from the environment", () => {
  it("MCP_IDP_OBO_* configure IdP on-behalf-of with the Azure Databricks scope by default", () => {
    const config = loadConfig(
      {
        MCP_IDP_OBO_ISSUER: "https://login.microsoftonline.com/t/v2.0",
        MCP_IDP_OBO_AUDIENCE: "app-id",
        MCP_IDP_OBO_TOKEN_ENDPOINT: "https://login.microsoftonline.com/t/oauth2/v2.0/token",
        MCP_IDP_OBO_CLIENT_ID: "app-id",
        MCP_IDP_OBO_CLIENT_SECRET: "secret",
      },
      WORKSPACE,
    );
    expect(config.identity.idpObo).toMatchObject({
      clientId: "app-id",
      scope: "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default",
      userClaims: ["upn", "preferred_username", "email"],
    });
  });

  it("MCP_BROKER_* configure the sign-in broker; without MCP_PUBLIC_URL or with a short key, start-up says what to set", () => {
    const env = { MCP_BROKER_CLIENT_ID: "c", MCP_BROKER_CLIENT_SECRET: "s", MCP_BROKER_TOKEN_KEY: KEY };
    const config = loadConfig({ ...env, MCP_PUBLIC_URL: "https://mcp.example.com" }, WORKSPACE);
    expect(config.identity.broker).toMatchObject({ clientId: "c", store: "memory", accessTokenTtlS: 600 });
    expect(() => loadConfig(env, WORKSPACE)).toThrow(/set MCP_PUBLIC_URL/);
    expect(() =>
      loadConfig({ ...env, MCP_PUBLIC_URL: "https://mcp.example.com", MCP_BROKER_TOKEN_KEY: "c2hvcnQ=" }, WORKSPACE),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig({ ...env, MCP_PUBLIC_URL: "https://mcp.example.com", MCP_BROKER_STORE: "redis://x" }, WORKSPACE),
    ).toThrow(/MCP_BROKER_STORE must be 'memory' or a postgres:\/\/ URL/);
  });

  it("a user-targeted issuer needs no role map, and one exchanging for users cannot use per-role IdP clients", () => {
    const issuer = { MCP_FEDERATION_ISSUER: "https://idp.example.com", MCP_FEDERATION_AUDIENCE: "a" };
    expect(
      loadConfig({ ...issuer, MCP_FEDERATION_EXCHANGE_FOR: "user" }, WORKSPACE).identity.federation.issuers,
    ).toHaveLength(1);
    expect(() => loadConfig({ ...issuer, MCP_FEDERATION_EXCHANGE_FOR: "role" }, WORKSPACE)).toThrow(
      /MCP_ROLE_TO_SERVICE_PRINCIPAL/,
    );
    expect(() =>
      loadConfig(
        {
          ...issuer,
          MCP_FEDERATION_EXCHANGE_FOR: "user",
          MCP_FEDERATION_SUBJECT_TOKEN_SOURCE: "idp-client-credentials",
        },
        WORKSPACE,
      ),
    ).toThrow(/subjectTokenSource to caller/);
  });
});
