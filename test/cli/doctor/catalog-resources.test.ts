import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../../emulator/workspace.js";
import { runDoctor, type DoctorCheck } from "../../../src/cli/doctor.js";
import { catalogResources } from "../../../src/cli/doctor/catalog-resources.js";
import { loadConfig } from "../../../src/config/load.js";
import { DEFAULT_CATALOG_FILE } from "../../../tools/catalog/load.js";
import { federationBearer } from "../../support/mcp-clients.js";
import { operatorEnvironment } from "../../support/workspace-env.js";
import { servicePrincipalToken } from "../../support/workspace-tokens.js";

const MISSING_SPACE = "01f0ffffffffffffffffffffffffffff";
const defaultEntries = () => (parseYaml(readFileSync(DEFAULT_CATALOG_FILE, "utf8")) as { tools: object[] }).tools;
/** A team's catalog: the default tools, a second Genie space that does not exist, and a function that does not. */
const teamEntries = () => [
  ...defaultEntries(),
  {
    name: "ask_forecast_space",
    kind: "genie",
    title: "Ask the forecast space",
    description: "Asks the forecast Genie space a natural-language question.",
    space: MISSING_SPACE,
  },
  {
    name: "churn_summary",
    kind: "uc-function",
    title: "Churn summary",
    description: "Churn per region from a Unity Catalog function.",
    function: "main.sales.churn_summary",
    warehouse: "${workspace.warehouseId}",
  },
  { name: "sales_fn", kind: "uc-functions", schema: "main.sales", warehouse: "${workspace.warehouseId}" },
  { name: "empty_fn", kind: "uc-functions", schema: "main.nothing_here", warehouse: "${workspace.warehouseId}" },
];

function catalogFile(entries: object[]): string {
  const file = join(mkdtempSync(join(tmpdir(), "doctor-catalog-")), "tools.json");
  writeFileSync(file, JSON.stringify({ tools: entries }));
  return file;
}

let workspace: LocalWorkspace;
beforeAll(async () => {
  workspace = await startLocalWorkspace({});
});
afterAll(async () => {
  await workspace?.close();
});

const byName = (checks: DoctorCheck[], name: string) => checks.find((c) => c.name === name);
const roleToken = async (role: string) => (await federationBearer(workspace, role)).authorization!.slice(7);
/** A workspace token (all-apis) of the service principal a Federation role maps to. */
const roleWorkspaceToken = (env: Record<string, string>, role: string) =>
  servicePrincipalToken(workspace, (JSON.parse(env.MCP_ROLE_TO_SERVICE_PRINCIPAL!) as Record<string, string>)[role]!);

describe("the resources a tool catalog names", () => {
  it("are each resource once, with the tools naming it and where a person changes it", () => {
    const file = catalogFile(teamEntries());
    const config = loadConfig({ ...operatorEnvironment(workspace), MCP_TOOLS_FILE: file });
    const resources = catalogResources(config);
    expect(resources.find((r) => r.field === "space" && r.name === MISSING_SPACE)).toEqual({
      field: "space",
      name: MISSING_SPACE,
      tools: ["ask_forecast_space"],
      setting: `entry ask_forecast_space of MCP_TOOLS_FILE (${file})`,
    });
    expect(resources.find((r) => r.field === "space" && r.name !== MISSING_SPACE)?.setting).toBe(
      "DATABRICKS_GENIE_SPACE_ID",
    );
    expect(resources.find((r) => r.field === "warehouse")?.tools).toEqual(
      expect.arrayContaining(["check_identity", "get_region_summary", "churn_summary"]),
    );
    expect(resources.filter((r) => r.field === "function").map((r) => r.name)).toEqual([
      "main.sales.get_region_summary",
      "main.sales.churn_summary",
    ]);
  });

  it("leave out an entry whose configured value is unset, as the server does not offer it", () => {
    const env = { ...operatorEnvironment(workspace), MCP_TOOLS_FILE: catalogFile(teamEntries()) };
    delete (env as Record<string, string | undefined>).DATABRICKS_GENIE_SPACE_ID;
    const spaces = catalogResources(loadConfig(env)).filter((r) => r.field === "space");
    expect(spaces.map((r) => r.name)).toEqual([MISSING_SPACE]);
  });
});

describe("doctor checks the resources of the tools the catalog offers", () => {
  it("fails a Genie space and a function the workspace does not have, naming the entry and the file", async () => {
    const file = catalogFile(teamEntries());
    const checks = await runDoctor({
      env: { ...operatorEnvironment(workspace), MCP_TOOLS_FILE: file },
      callerToken: await roleToken("admin"),
    });
    const space = byName(checks, `Genie space ${MISSING_SPACE}`)!;
    expect(space.status).toBe("fail");
    expect(space.fix).toContain(`entry ask_forecast_space of MCP_TOOLS_FILE (${file})`);
    const missing = byName(checks, "function main.sales.churn_summary")!;
    expect(missing.status).toBe("fail");
    expect(missing.detail).toContain("does not exist");
    expect(missing.fix).toContain("entry churn_summary of MCP_TOOLS_FILE");
    // The caller's token has no Unity Catalog scope: functions are read as the server reads them at start-up.
    const present = byName(checks, "function main.sales.get_region_summary")!;
    expect(present.status).toBe("ok");
    expect(present.detail).toMatch(/for tool get_region_summary \(as service principal /);
  });

  it("counts the functions of a uc-functions schema, and warns when there are none to offer", async () => {
    const checks = await runDoctor({
      env: { ...operatorEnvironment(workspace), MCP_TOOLS_FILE: catalogFile(teamEntries()) },
      callerToken: await roleToken("admin"),
    });
    expect(byName(checks, "functions of schema main.sales")).toMatchObject({ status: "ok" });
    expect(byName(checks, "functions of schema main.sales")!.detail).toMatch(/^\d+ functions?; for tool sales_fn/);
    expect(byName(checks, "functions of schema main.nothing_here")).toMatchObject({ status: "warn" });
  });

  it("checks a connection as a caller whose token may read it, and fails it for one without USE CONNECTION", async () => {
    const env = operatorEnvironment(workspace);
    const admin = await runDoctor({ env: { ...env, DATABRICKS_TOKEN: await roleWorkspaceToken(env, "admin") } });
    expect(byName(admin, "connection github")).toMatchObject({ status: "ok" });
    expect(byName(admin, "connection github")!.detail).toContain("for tool github_search");
    const west = await runDoctor({ env: { ...env, DATABRICKS_TOKEN: await roleWorkspaceToken(env, "west_sales") } });
    expect(byName(west, "connection partner_api")).toMatchObject({ status: "fail" });
    expect(byName(west, "connection partner_api")!.fix).toContain("grant USE CONNECTION");
  });

  it("skips a connection, saying why, when the caller's token cannot read Unity Catalog", async () => {
    const checks = await runDoctor({ env: operatorEnvironment(workspace), callerToken: await roleToken("admin") });
    expect(byName(checks, "connection github")).toMatchObject({ status: "skip" });
    expect(byName(checks, "connection github")!.detail).toContain("unity-catalog");
  });
});
