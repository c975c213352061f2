import { describe, expect, it } from "vitest";
import { ResourceServers, resourceIndicatorFor } from "../../emulator/idp/resource-servers.js";

describe("the local IdP's resource servers (RFC 8707)", () => {
  it("knows the federation audience under its URN by default, and nothing else", () => {
    const servers = new ResourceServers("databricks-governed-mcp");
    expect(servers.defaultResource).toBe("urn:databricks-governed-mcp");
    expect(servers.audienceOf("urn:databricks-governed-mcp")).toBe("databricks-governed-mcp");
    expect(servers.audienceOf("http://evil.example/mcp")).toBeUndefined();
  });

  it("gives a registered URL its own audience, matched exactly", () => {
    const servers = new ResourceServers("databricks-governed-mcp");
    servers.register("https://mcp.example.com/mcp");
    expect(servers.audienceOf("https://mcp.example.com/mcp")).toBe("https://mcp.example.com/mcp");
    expect(servers.audienceOf("https://mcp.example.com/mcp/")).toBeUndefined();
    expect(servers.audienceOf("https://mcp.example.com")).toBeUndefined();
  });

  it.each(["/mcp", "mcp.example.com/mcp", "https://mcp.example.com/mcp#frag", "ftp://mcp.example.com/mcp"])(
    "refuses to register %s (not an absolute http(s) URL without a fragment)",
    (resource) => {
      expect(() => new ResourceServers("x").register(resource)).toThrow(/absolute http\(s\) URL/);
    },
  );

  it("keeps an audience that is already a URL as its own indicator", () => {
    expect(resourceIndicatorFor("https://api.example.com")).toBe("https://api.example.com");
    expect(resourceIndicatorFor("api audience")).toBe("urn:api%20audience");
  });
});
