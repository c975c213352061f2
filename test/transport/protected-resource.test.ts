import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import {
  authorizationServersOf,
  protectedResourceMetadata,
  resourceIdentifiers,
} from "../../src/transport/protected-resource.js";

const IDP = "https://idp.example.com/oauth2/default";
const WORKSPACE = "https://adb-1.azuredatabricks.net";
const TOOL_SCOPES = ["dashboards.genie", "sql"];

function config(overrides: Record<string, unknown> = {}, acceptWorkspaceBearer = true) {
  return loadConfig(
    {},
    {
      workspace: { host: WORKSPACE, warehouseId: "w1", genieSpaceId: "g1" },
      identity: {
        federation: {
          issuers: [{ issuer: IDP, audience: "api://mcp", clientScopes: ["openid", "offline_access"] }],
          roleToServicePrincipal: { analyst: "sp-1" },
        },
        obo: { acceptWorkspaceBearer },
      },
      ...overrides,
    },
  );
}

describe("protected resource identifiers", () => {
  it("are the public URL's origin and its MCP endpoint, without a doubled slash", () => {
    const server = config({ server: { publicUrl: "https://mcp.example.com/", path: "/mcp" } }).server;
    expect(resourceIdentifiers(server, "http://0.0.0.0:3000")).toEqual({
      root: "https://mcp.example.com",
      endpoint: "https://mcp.example.com/mcp",
    });
  });

  it("fall back to the listening address when no public URL is set", () => {
    expect(resourceIdentifiers(config().server, "http://127.0.0.1:4123").endpoint).toBe("http://127.0.0.1:4123/mcp");
  });
});

describe("authorization servers named in the metadata", () => {
  it("are the IdP with its sign-in scopes, then the workspace with the tools' scopes", () => {
    expect(authorizationServersOf(config(), TOOL_SCOPES)).toEqual({
      authorizationServers: [IDP, `${WORKSPACE}/oidc`],
      scopesSupported: ["openid", "offline_access", "dashboards.genie", "sql"],
    });
  });

  it("leave the workspace and its scopes out when workspace-issued bearer tokens are refused", () => {
    expect(authorizationServersOf(config({}, false), TOOL_SCOPES)).toEqual({
      authorizationServers: [IDP],
      scopesSupported: ["openid", "offline_access"],
    });
  });

  it("shape an RFC 9728 document for the resource it is served for", () => {
    const doc = protectedResourceMetadata("https://mcp.example.com/mcp", authorizationServersOf(config(), []));
    expect(doc).toMatchObject({ resource: "https://mcp.example.com/mcp", bearer_methods_supported: ["header"] });
  });
});
