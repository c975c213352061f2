import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalWorkspace } from "../../../emulator/workspace.js";
import type { WorkspaceHttpClient } from "../../../src/databricks/http-client.js";
import { createWorkspaceApi, type FunctionInfo } from "../../../src/databricks/workspace-api.js";
import { ErrorCodes, type GovernedError } from "../../../src/errors.js";
import { buildToolCatalog } from "../../../src/mcp/tool-catalog.js";
import { buildCatalog, discoverCatalog } from "../../../tools/catalog/load.js";
import type { CatalogDiscovery } from "../../../tools/kinds/kind.js";
import { parametersOf } from "../../../tools/kinds/uc-function.js";
import { closeKindWorkspace, startKindWorkspace, userToolContext } from "../../support/tool-context.js";
import { WEST_SP } from "../../support/sql-workspace.js";

const FN = "main.sales.get_region_summary";
const M2M_SP = "5e5e0000-0000-4000-8000-00000000a0d1";

describe("a function's parameters as tool inputs", () => {
  it.each([
    ["STRING", "string"],
    ["INT", "integer"],
    ["BIGINT", "integer"],
    ["DOUBLE", "number"],
    ["DECIMAL", "number"],
    ["BOOLEAN", "boolean"],
    ["DATE", "date"],
    ["TIMESTAMP", "timestamp"],
  ])("maps %s to %s", (typeName, type) => {
    const info: FunctionInfo = { name: "f", input_params: { parameters: [{ name: "x", type_name: typeName }] } };
    expect(parametersOf(info)).toMatchObject([{ name: "x", type, required: true }]);
  });

  it("keeps the function's order, makes a parameter with a default optional, and refuses a type a tool cannot take", () => {
    const info: FunctionInfo = {
      name: "f",
      input_params: {
        parameters: [
          { name: "b", type_name: "STRING", position: 1, parameter_default: "NULL" },
          { name: "a", type_name: "INT", position: 0 },
        ],
      },
    };
    expect(parametersOf(info).map((p) => [p.name, p.required])).toEqual([
      ["a", true],
      ["b", false],
    ]);
    const map: FunctionInfo = { name: "f", input_params: { parameters: [{ name: "m", type_name: "MAP" }] } };
    expect(() => parametersOf(map)).toThrow(/type MAP, which a tool cannot take/);
  });
});

describe("the uc-function and uc-functions kinds against the local workspace", () => {
  let workspace: LocalWorkspace;
  let http: WorkspaceHttpClient;
  let discovery: CatalogDiscovery;
  let warehouse: string;
  beforeAll(async () => {
    ({ workspace, http } = await startKindWorkspace());
    warehouse = workspace.context.seed.warehouses[0]!.id;
    const { access_token: accessToken } = await workspace.tokens.issue(M2M_SP, ["unity-catalog"], 3600);
    const api = createWorkspaceApi(
      http,
      { token: async () => ({ accessToken, expiresAt: Date.now() / 1000 + 3600, scopes: ["unity-catalog"] }) },
      { requestId: "discovery", queryTags: {} },
    );
    discovery = {
      getFunction: (name) => api.getFunction(name),
      listFunctions: async (c, s) => (await api.listFunctions(c, s)).functions ?? [],
    };
  });
  afterAll(() => closeKindWorkspace({ workspace, http }));

  async function toolsOf(entries: Record<string, unknown>[]) {
    const { raw, skipped } = await discoverCatalog({ tools: entries }, discovery);
    return { ...buildCatalog(raw, { workspace: {} }), discoveredSkipped: skipped };
  }

  it("derives the input schema from the functions API and runs as the caller, the row filter applying inside", async () => {
    const { tools } = await toolsOf([{ name: "region_summary", kind: "uc-function", function: FN, warehouse }]);
    const entry = buildToolCatalog(tools).get("region_summary")!;
    expect(Object.keys(entry.listing.inputSchema.properties ?? {})).toEqual(["quarter", "limit"]);
    expect(entry.listing.description).toMatch(/row filter/);
    const west = await userToolContext(workspace, http, WEST_SP, { mode: "federation", role: "west_sales" });
    const out = await entry.definition.handler({ quarter: "2026-Q1", limit: 10 }, west);
    expect((out.structured as { rows: unknown[][] }).rows.map((r) => r[0])).toEqual(["WEST"]);
    const admin = await userToolContext(workspace, http, "ada.admin@example.com");
    const all = await entry.definition.handler({ limit: 10 }, admin);
    expect((all.structured as { rows: unknown[][] }).rows.map((r) => r[0])).toEqual(["CENTRAL", "EAST", "WEST"]);
  });

  it("lets EXECUTE decide: a principal without it is refused by Unity Catalog (ACCESS_DENIED)", async () => {
    const { tools } = await toolsOf([{ name: "region_summary", kind: "uc-function", function: FN, warehouse }]);
    const ctx = await userToolContext(workspace, http, M2M_SP, { mode: "m2m", human: undefined });
    const error = await tools[0]!.handler({ limit: 10 }, ctx).catch((e: GovernedError) => e);
    expect((error as GovernedError).code).toBe(ErrorCodes.ACCESS_DENIED);
  });

  it("offers every function of a schema as a tool (uc-functions), and leaves out what the workspace cannot describe", async () => {
    const { tools, discoveredSkipped } = await toolsOf([
      {
        name: "sales_functions",
        kind: "uc-functions",
        schema: "main.sales",
        prefix: "sales_",
        warehouse,
        roles: ["admin"],
      },
      { name: "missing", kind: "uc-function", function: "main.sales.nope", warehouse },
    ]);
    expect(tools.map((t) => [t.name, t.roles])).toEqual([["sales_get_region_summary", ["admin"]]]);
    expect(discoveredSkipped).toEqual([{ name: "missing", reason: expect.stringMatching(/could not describe it/) }]);
  });
});
