import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseIni, readDatabricksProfile, withProfileHost } from "../../src/identity/databricks-profile.js";

const dir = mkdtempSync(join(tmpdir(), "governed-mcp-cfg-"));
const file = join(dir, ".databrickscfg");
writeFileSync(
  file,
  [
    "# Databricks CLI profiles",
    "[DEFAULT]",
    "host = https://default.example.com",
    "",
    "[dev]",
    "host = https://dev.example.com/",
    "token = dapi-abc==",
    "; a comment between keys",
    "auth_type = pat",
    "",
    "[robot]",
    "host=https://robot.example.com",
    "client_id=app-id",
    "client_secret=s3cr=t",
  ].join("\n"),
);

describe("~/.databrickscfg profiles", () => {
  it("parses sections and keys, skipping comments, keeping '=' inside values", () => {
    const sections = parseIni(`[a]\nk = v=1\n# x\n; y\n[b]\nz=2\n`);
    expect(Object.fromEntries(sections)).toEqual({ a: { k: "v=1" }, b: { z: "2" } });
  });

  it("reads a profile's host (trailing slash dropped), token and auth type", () => {
    expect(readDatabricksProfile("dev", file)).toEqual({
      name: "dev",
      host: "https://dev.example.com",
      token: "dapi-abc==",
      clientId: undefined,
      clientSecret: undefined,
      authType: "pat",
    });
    expect(readDatabricksProfile("robot", file)).toMatchObject({ clientId: "app-id", clientSecret: "s3cr=t" });
  });

  it("names the missing profile or file, and never the file's secrets", () => {
    expect(() => readDatabricksProfile("prod", file)).toThrow(/no \[prod\] section/);
    expect(() => readDatabricksProfile("dev", join(dir, "absent"))).toThrow(/cannot read .*absent/);
    try {
      readDatabricksProfile("prod", file);
    } catch (err) {
      expect(String((err as Error).message)).not.toContain("dapi-abc");
    }
  });

  it("lets a named profile supply DATABRICKS_HOST, but never overrides an explicit one", () => {
    expect(withProfileHost({ DATABRICKS_CONFIG_PROFILE: "robot", DATABRICKS_CONFIG_FILE: file }).DATABRICKS_HOST).toBe(
      "https://robot.example.com",
    );
    expect(
      withProfileHost({
        DATABRICKS_CONFIG_PROFILE: "robot",
        DATABRICKS_CONFIG_FILE: file,
        DATABRICKS_HOST: "https://explicit.example.com",
      }).DATABRICKS_HOST,
    ).toBe("https://explicit.example.com");
  });
});
