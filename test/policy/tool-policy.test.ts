import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { ErrorCodes, GovernedError } from "../../src/errors.js";
import { buildToolCatalog } from "../../src/mcp/tool-catalog.js";
import { ToolPolicy } from "../../src/policy/tool-policy.js";
import type { CallerIdentity } from "../../src/identity/types.js";
import { ALL_TOOLS, DEFAULT_RBAC } from "../../tools/index.js";

const ENV = {
  DATABRICKS_HOST: "https://x.cloud.databricks.com",
  DATABRICKS_WAREHOUSE_ID: "w",
  DATABRICKS_GENIE_SPACE_ID: "g",
};
const catalog = buildToolCatalog(ALL_TOOLS);
const policy = new ToolPolicy(catalog, loadConfig(ENV));
const federated = (role: string, scopes = ["all-apis"]): CallerIdentity => ({
  mode: "federation",
  source: "exchange",
  role,
  scopes,
});
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as GovernedError).code;
  }
  return undefined;
};

describe("the tool policy", () => {
  it.each(Object.keys(DEFAULT_RBAC))("lets %s call exactly the tools tools/list shows it", (role) => {
    const listed = policy.listing(federated(role)).map((t) => t.name);
    expect(listed).toEqual(DEFAULT_RBAC[role]);
    for (const tool of ALL_TOOLS) {
      const code = refusal(() => policy.authorize(federated(role), tool.name));
      expect(code, `${role} ${tool.name}`).toBe(listed.includes(tool.name) ? undefined : ErrorCodes.TOOL_NOT_ALLOWED);
    }
  });

  it("refuses an unknown tool as it refuses a forbidden one", () => {
    expect(refusal(() => policy.authorize(federated("admin"), "drop_tables"))).toBe(ErrorCodes.TOOL_NOT_ALLOWED);
  });

  it("refuses an allowed tool whose scopes the credential lacks, and names them for the HTTP challenge", () => {
    const genieless = federated("admin", ["sql"]);
    expect(refusal(() => policy.authorize(genieless, "genie_query"))).toBe(ErrorCodes.SCOPE_MISSING);
    expect(policy.lackingScopes(genieless, "genie_query")).toEqual(["dashboards.genie"]);
    // A tool it may not call at all raises no scope challenge: the dispatcher refuses it as not allowed.
    expect(policy.lackingScopes(federated("west_sales", ["sql"]), "ask_supervisor")).toEqual([]);
  });

  it("takes the roles from the catalog entries unless MCP_RBAC overrides them", () => {
    const overridden = new ToolPolicy(
      catalog,
      loadConfig({ ...ENV, MCP_RBAC: JSON.stringify({ west_sales: ["check_identity", "ask_supervisor"] }) }),
    );
    expect(overridden.allowed(federated("west_sales"))).toEqual(["check_identity", "ask_supervisor"]);
    expect(overridden.allowed(federated("executive"))).toEqual([]);
  });
});
