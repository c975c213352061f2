import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { deriveEnvNames } from "../../src/config/env-names.js";
import { envNameOf, fromEnv, loadConfig } from "../../src/config/load.js";

/** A complete, valid environment: every pattern configured, so each variable is read and checked. */
const VALID: Record<string, string> = {
  DATABRICKS_HOST: "https://x.cloud.databricks.com",
  DATABRICKS_WAREHOUSE_ID: "w1",
  DATABRICKS_GENIE_SPACE_ID: "sp1",
  MCP_PUBLIC_URL: "https://mcp.example.com/mcp",
  MCP_FEDERATION_ISSUER: "https://idp.example.com",
  MCP_FEDERATION_AUDIENCE: "a",
  MCP_ROLE_TO_SERVICE_PRINCIPAL: '{"west_sales":"sp-app-id"}',
  MCP_IDP_OBO_ISSUER: "https://login.example.com/t/v2.0",
  MCP_IDP_OBO_AUDIENCE: "app-id",
  MCP_IDP_OBO_TOKEN_ENDPOINT: "https://login.example.com/t/token",
  MCP_IDP_OBO_CLIENT_ID: "app-id",
  MCP_IDP_OBO_CLIENT_SECRET: "s",
  MCP_BROKER_CLIENT_ID: "c",
  MCP_BROKER_CLIENT_SECRET: "s",
  MCP_BROKER_TOKEN_KEY: randomBytes(32).toString("base64"),
  DATABRICKS_CLIENT_ID: "sp",
  DATABRICKS_CLIENT_SECRET: "s",
};

/** Values that break some setting: one of them is refused by each variable that checks its value. */
const INVALID = ["not a valid value", "-1", "99999999", "0", "x", "{}", "[]", "true"];

/** Variables any value of which is valid (names, paths, secrets, switches), so no error can name them. */
const ANY_VALUE = new Set([
  "DATABRICKS_WAREHOUSE_ID",
  "DATABRICKS_GENIE_SPACE_ID",
  "DATABRICKS_VECTOR_INDEX",
  "DATABRICKS_SUPERVISOR_ENDPOINT",
  "DATABRICKS_APP_NAME",
  "DATABRICKS_CONFIG_PROFILE",
  "DATABRICKS_CONFIG_FILE",
  "DATABRICKS_TOKEN",
  "MCP_HTTP_HOST",
  "MCP_ALLOWED_HOSTS",
  "MCP_ALLOWED_ORIGINS",
  "MCP_OBO_AUDIENCE",
  "MCP_FEDERATION_AUDIENCE",
  "MCP_TOOLS_FILE",
  "MCP_AUDIT_SPOOL_DIR",
  "MCP_LOGIN_CACHE_FILE",
  "MCP_FEDERATION_ROLE_CLAIM",
  "MCP_FEDERATION_USER_CLAIM",
  "MCP_IDP_OBO_AUDIENCE",
  "MCP_IDP_OBO_CLIENT_ID",
  "MCP_IDP_OBO_CLIENT_SECRET",
  "MCP_BROKER_CLIENT_ID",
  "MCP_BROKER_CLIENT_SECRET",
  "DATABRICKS_CLIENT_ID",
  "DATABRICKS_CLIENT_SECRET",
  "MCP_PSEUDONYM_SALT",
  "OTEL_SERVICE_NAME",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
  "OTEL_SDK_DISABLED",
  "OTEL_TRACES_EXPORTER",
]);
/** Switches that turn a setting off rather than set a key (OTLP export disabled). */
const SWITCHES = new Set(["OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER"]);

/** Every variable load.ts reads: named in its source, or read by the functions it calls (a watched run). */
function variablesLoadReads(): string[] {
  const source = readFileSync(new URL("../../src/config/load.ts", import.meta.url), "utf8");
  const named = [...source.matchAll(/env\.([A-Z][A-Z0-9_]+)|\(env, "([A-Z][A-Z0-9_]+)"/g)].map((m) => m[1] ?? m[2]!);
  const read: string[] = [];
  fromEnv(
    new Proxy(VALID, {
      get: (target, key) => {
        if (typeof key === "string") read.push(key);
        return target[key as string];
      },
    }),
  );
  return [...new Set([...named, ...read])].sort();
}

const refusal = (env: Record<string, string>): string | undefined => {
  try {
    loadConfig(env);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
};

describe("every variable the configuration reads is named by its errors", () => {
  it("the complete environment the walk starts from is valid", () => {
    expect(refusal(VALID)).toBeUndefined();
  });

  const variables = variablesLoadReads();

  it("the walk covers the newer settings (broker, IdP on-behalf-of, Federation user, catalog, audit delay, quotas)", () => {
    for (const name of [
      "MCP_BROKER_STORE",
      "MCP_BROKER_TOKEN_KEY",
      "MCP_BROKER_REGISTRATIONS_PER_MINUTE",
      "MCP_BROKER_ATTEMPTS_PER_MINUTE",
      "MCP_IDP_OBO_ISSUER",
      "MCP_FEDERATION_EXCHANGE_FOR",
      "MCP_FEDERATION_USER_CLAIM",
      "MCP_TOOLS_FILE",
      "MCP_AUDIT_COMMIT_DELAY_MS",
      "MCP_QUOTA_STORE",
      "MCP_QUOTA_ROLES",
      "MCP_QUOTA_CALLER_PER_MINUTE",
    ])
      expect(variables).toContain(name);
  });

  it.each(variables.filter((v) => !ANY_VALUE.has(v)))(
    "an invalid %s is refused with an error naming it",
    (variable) => {
      const refused = INVALID.map((value) => ({ value, text: refusal({ ...VALID, [variable]: value }) })).filter(
        (r) => r.text !== undefined,
      );
      expect(
        refused,
        `no value tried is refused for ${variable}; list it in ANY_VALUE if any value is valid`,
      ).not.toEqual([]);
      for (const { value, text } of refused) expect(text, `${variable}=${value}`).toContain(variable);
    },
  );

  it.each(variables.filter((v) => ANY_VALUE.has(v) && !SWITCHES.has(v)))(
    "%s, which takes any value, still owns its configuration key",
    (variable) => {
      expect([...deriveEnvNames(fromEnv).values()].some((names) => names.split(" or ").includes(variable))).toBe(true);
    },
  );
});

describe("the variable behind a key path is derived from the environment mapping", () => {
  it.each([
    [["identity", "broker", "store"], "MCP_BROKER_STORE"],
    [["identity", "broker", "tokenKey"], "MCP_BROKER_TOKEN_KEY"],
    [["identity", "idpObo", "tokenEndpoint"], "MCP_IDP_OBO_TOKEN_ENDPOINT"],
    [["identity", "federation", "issuers", 0, "exchangeFor"], "MCP_FEDERATION_EXCHANGE_FOR"],
    [["identity", "federation", "issuers", 0, "userClaim"], "MCP_FEDERATION_USER_CLAIM"],
    [["catalog", "file"], "MCP_TOOLS_FILE"],
    [["audit", "commitDelayMs"], "MCP_AUDIT_COMMIT_DELAY_MS"],
    [["audit", "flushIntervalMs"], "MCP_AUDIT_FLUSH_INTERVAL_MS"],
    [["policy", "rbac", "west_sales", 0], "MCP_RBAC"],
    [["server", "port"], "MCP_HTTP_PORT or DATABRICKS_APP_PORT"],
  ] as const)("%j → %s", (path, variable) => {
    expect(envNameOf(path)).toBe(variable);
  });

  it("a variable the mapping starts reading is named without any list to update", () => {
    const names = deriveEnvNames((env) => ({ brandNew: { limit: env.MCP_BRAND_NEW_LIMIT } }));
    expect(names.get("brandNew.limit")).toBe("MCP_BRAND_NEW_LIMIT");
  });
});
