import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildCatalog, catalogToolsFromFile, loadToolCatalog } from "../../../tools/catalog/load.js";
import { ALL_TOOLS } from "../../../tools/index.js";
import { scopesFor } from "../../../src/policy/scopes.js";
import { loadConfig } from "../../../src/config/load.js";

const WORKSPACE = {
  warehouseId: "wh",
  salesTable: "main.sales.deals",
  auditTable: "main.governance.mcp_audit",
  genieSpaceId: "space-1",
  vectorIndex: "main.knowledge.docs_index",
  supervisorEndpoint: "agent",
};
const ENV = {
  DATABRICKS_HOST: "https://example.cloud.databricks.com",
  DATABRICKS_WAREHOUSE_ID: "wh",
  DATABRICKS_GENIE_SPACE_ID: "space-1",
};
const identityEntry = {
  name: "whoami",
  kind: "identity",
  title: "Who am I",
  description: "Shows who the workspace thinks you are for this request.",
  warehouse: "${workspace.warehouseId}",
};

function catalogFile(text: string, name = "catalog.yaml"): string {
  const path = join(mkdtempSync(join(tmpdir(), "catalog-")), name);
  writeFileSync(path, text);
  return path;
}

describe("the default catalog", () => {
  it("offers the demo's tools, bound to the configured resources, with their default deadlines", () => {
    const { tools, skipped } = loadToolCatalog(loadConfig(ENV));
    expect(skipped).toEqual([]);
    expect(tools.map((t) => t.name)).toContain("genie_query");
    expect(tools.find((t) => t.name === "genie_query")!.timeoutMs).toBe(120_000);
  });

  it("leaves out a tool whose resource is not configured and names the variable to set (no start-up error)", () => {
    const { tools, skipped } = loadToolCatalog(loadConfig({ ...ENV, DATABRICKS_GENIE_SPACE_ID: undefined }));
    expect(tools.map((t) => t.name)).not.toContain("genie_query");
    expect(tools.map((t) => t.name)).toContain("query_sales_data");
    expect(skipped).toEqual([{ name: "genie_query", reason: "set DATABRICKS_GENIE_SPACE_ID" }]);
  });

  it("takes a per-tool deadline from the configuration over the entry's", () => {
    const config = loadConfig(ENV, { timeouts: { genie_query: 5000 } });
    expect(loadToolCatalog(config).tools.find((t) => t.name === "genie_query")!.timeoutMs).toBe(5000);
  });
});

describe("a catalog file (MCP_TOOLS_FILE)", () => {
  it("replaces the default catalog, in YAML or JSON", () => {
    const yaml = catalogFile(`tools:\n  - ${JSON.stringify(identityEntry)}\n`);
    const json = catalogFile(JSON.stringify({ tools: [identityEntry] }), "catalog.json");
    for (const file of [yaml, json]) {
      const { tools } = loadToolCatalog(loadConfig({ ...ENV, MCP_TOOLS_FILE: file }));
      expect(tools.map((t) => t.name)).toEqual(["whoami"]);
    }
  });

  it.each([
    [
      "an unknown kind",
      { ...identityEntry, kind: "shell" },
      /tools\[0\] \(whoami\)\.kind: unknown kind "shell"; use one of identity/,
    ],
    ["a field its kind does not know", { ...identityEntry, warehous: "x" }, /tools\[0\] \(whoami\).*warehous/],
    [
      "a name that is not snake_case",
      { ...identityEntry, name: "Who Am I" },
      /tools\[0\] \(Who Am I\)\.name: a tool name is lower_snake_case/,
    ],
    [
      "an unknown reference",
      { ...identityEntry, warehouse: "${workspace.nope}" },
      /unknown reference \$\{workspace\.nope\}/,
    ],
    ["a missing resource", { ...identityEntry, warehouse: undefined }, /tools\[0\] \(whoami\)\.warehouse/],
  ])("refuses %s with the entry and the field to fix", (_case, entry, message) => {
    expect(() => buildCatalog({ tools: [entry] }, { workspace: WORKSPACE })).toThrow(message);
    expect(() => buildCatalog({ tools: [entry] }, { workspace: WORKSPACE })).toThrow(/^MCP_TOOLS_FILE: /);
  });

  it("reports a kind's own refusal of an entry as a configuration error naming the entry", () => {
    const clash = {
      name: "summary",
      kind: "uc-function",
      title: "Summary",
      description: "A function whose parameter clashes with the row limit.",
      function: "main.sales.summary",
      warehouse: "wh",
      parameters: [{ name: "limit", type: "integer", description: "A limit of its own." }],
    };
    expect(() => buildCatalog({ tools: [clash] }, { workspace: WORKSPACE })).toThrow(
      /^MCP_TOOLS_FILE: tools\[0\] \(summary\): main\.sales\.summary: a parameter named limit clashes/,
    );
  });

  it("refuses two entries with one name", () => {
    expect(() => buildCatalog({ tools: [identityEntry, identityEntry] }, { workspace: WORKSPACE })).toThrow(
      /each tool name may appear once/,
    );
  });

  it("refuses a bad entry of the configured file naming MCP_TOOLS_FILE, the file and the entry", () => {
    const file = catalogFile(`tools:\n  - ${JSON.stringify({ ...identityEntry, kind: "shell" })}\n`);
    const text = `MCP_TOOLS_FILE (${file}): tools[0] (whoami).kind: unknown kind "shell"`;
    expect(() => loadToolCatalog(loadConfig({ ...ENV, MCP_TOOLS_FILE: file }))).toThrow(text);
  });

  it("refuses a file it cannot read or parse, naming MCP_TOOLS_FILE", () => {
    expect(() => loadToolCatalog(loadConfig({ ...ENV, MCP_TOOLS_FILE: "/nonexistent/catalog.yaml" }))).toThrow(
      /^MCP_TOOLS_FILE: cannot read \/nonexistent\/catalog\.yaml\.$/,
    );
    const broken = catalogFile("tools: [\n");
    expect(() => loadToolCatalog(loadConfig({ ...ENV, MCP_TOOLS_FILE: broken }))).toThrow(
      /^MCP_TOOLS_FILE: .* is not valid YAML/,
    );
  });
});

describe("the catalog as its file alone tells (sign-in scopes: login, whoami, doctor)", () => {
  it("is the default catalog's tools when no file is configured, whatever resources are set", () => {
    const bare = {
      DATABRICKS_HOST: ENV.DATABRICKS_HOST,
      DATABRICKS_WAREHOUSE_ID: "wh",
      DATABRICKS_GENIE_SPACE_ID: "g",
    };
    const tools = catalogToolsFromFile(loadConfig(bare));
    expect(tools.map((t) => t.name)).toEqual(ALL_TOOLS.map((t) => t.name));
    expect(scopesFor(tools)).toEqual(scopesFor(ALL_TOOLS));
  });

  it("is the configured file's tools, each entry only the workspace can expand standing in for its tools", () => {
    const genie = {
      name: "ask_finance",
      kind: "genie",
      title: "Ask finance",
      description: "Asks the finance Genie space a question in plain words.",
      space: "${workspace.genieSpaceId}",
      roles: ["analyst"],
    };
    const functions = {
      name: "finance_fns",
      kind: "uc-functions",
      schema: "main.finance",
      warehouse: "wh",
      roles: ["analyst"],
    };
    const hr = { ...functions, name: "hr_fns", schema: "main.hr", roles: ["hr"] };
    const file = catalogFile(JSON.stringify({ tools: [genie, functions, hr] }), "catalog.json");
    // No Genie space configured: the entry still counts, with an example resource.
    const config = loadConfig({
      DATABRICKS_HOST: ENV.DATABRICKS_HOST,
      DATABRICKS_WAREHOUSE_ID: "wh",
      MCP_TOOLS_FILE: file,
    });
    const tools = catalogToolsFromFile(config);
    expect(tools.map((t) => [t.name, t.scopes, t.roles])).toEqual([
      ["ask_finance", ["dashboards.genie"], ["analyst"]],
      ["finance_fns", ["sql"], ["analyst"]],
      ["hr_fns", ["sql"], ["hr"]],
    ]);
    expect(scopesFor(tools)).toEqual(["dashboards.genie", "sql"]);
  });
});
