import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { accessRules, allowedTools as allowedBy, scopesToRequest } from "../../src/policy/tool-access.js";
import { ALL_TOOLS, DEFAULT_TOOL_NAMES } from "../../tools/index.js";
import { missingScopes, scopesFor } from "../../src/policy/scopes.js";
import type { CallerIdentity } from "../../src/identity/types.js";

const config = loadConfig({
  DATABRICKS_HOST: "https://x.cloud.databricks.com",
  DATABRICKS_WAREHOUSE_ID: "w",
  DATABRICKS_GENIE_SPACE_ID: "g",
});
const allowedTools = (identity: CallerIdentity, c: Config) => allowedBy(identity, accessRules(ALL_TOOLS, c));
const federated = (role?: string): CallerIdentity => ({
  mode: "federation",
  source: "exchange",
  role,
  scopes: ["sql"],
});

describe("tool access", () => {
  it("gives a Federation caller its role's row of the matrix", () => {
    expect(allowedTools(federated("west_sales"), config)).not.toContain("query_audit_log");
    expect(allowedTools(federated("finance"), config)).toContain("query_audit_log");
    expect(allowedTools(federated("finance"), config)).not.toContain("ask_supervisor");
  });

  it("gives an unknown or missing Federation role nothing", () => {
    expect(allowedTools(federated("intern"), config)).toEqual([]);
    expect(allowedTools(federated(undefined), config)).toEqual([]);
  });

  it("lets OBO rely on Unity Catalog unless a tool list is configured", () => {
    const obo: CallerIdentity = { mode: "obo", source: "bearer", human: "a@example.com", scopes: [] };
    expect(allowedTools(obo, config)).toEqual(DEFAULT_TOOL_NAMES);
    const narrowed = loadConfig(
      {
        DATABRICKS_HOST: "https://x.cloud.databricks.com",
        DATABRICKS_WAREHOUSE_ID: "w",
        DATABRICKS_GENIE_SPACE_ID: "g",
      },
      { identity: { obo: { tools: ["check_identity"] } } },
    );
    expect(allowedTools(obo, narrowed)).toEqual(["check_identity"]);
  });
});

describe("scopes", () => {
  it("asks for the union of what the tools need, once each", () => {
    expect(scopesFor([{ scopes: ["sql"] }, { scopes: ["sql", "dashboards.genie"] }])).toEqual([
      "dashboards.genie",
      "sql",
    ]);
  });

  it("requests for a caller only the scopes of the tools it may call", () => {
    expect(scopesToRequest({ mode: "federation", role: "west_sales" }, config, ALL_TOOLS)).toEqual([
      "dashboards.genie",
      "sql",
      "vectorsearch.vector-search-indexes",
    ]);
    expect(scopesToRequest({ mode: "federation", role: "executive" }, config, ALL_TOOLS)).toContain(
      "serving.serving-endpoints",
    );
    expect(scopesToRequest({ mode: "federation", role: "intern" }, config, ALL_TOOLS)).toEqual([]);
  });

  it("reports what a credential lacks; all-apis lacks nothing", () => {
    expect(missingScopes(["sql"], ["sql", "dashboards.genie"])).toEqual(["dashboards.genie"]);
    expect(missingScopes(["all-apis"], ["sql", "dashboards.genie"])).toEqual([]);
  });
});
