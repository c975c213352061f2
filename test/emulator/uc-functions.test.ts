import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";

const FN = "main.sales.get_region_summary";
const M2M_SP = "5e5e0000-0000-4000-8000-00000000a0d1";
let workspace: LocalWorkspace;
beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 5 });
});
afterAll(async () => {
  await workspace?.close();
});

async function get(path: string, who: string, scopes = ["all-apis"]) {
  const { access_token } = await workspace.tokens.issue(who, scopes, 600);
  const res = await fetch(`${workspace.baseUrl}${path}`, { headers: { authorization: `Bearer ${access_token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("the Unity Catalog functions API of the local workspace", () => {
  it("returns FunctionInfo with input_params as the SDKs read it", async () => {
    const { status, body } = await get(`/api/2.1/unity-catalog/functions/${FN}`, "wendy.west@example.com");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      name: "get_region_summary",
      catalog_name: "main",
      schema_name: "sales",
      full_name: FN,
      data_type: "TABLE_TYPE",
      routine_body: "SQL",
      input_params: {
        parameters: [{ name: "quarter", type_name: "STRING", position: 0, parameter_default: "NULL" }],
      },
    });
  });

  it("lists a schema's functions, and needs catalog_name and schema_name", async () => {
    const listed = await get("/api/2.1/unity-catalog/functions?catalog_name=main&schema_name=sales", M2M_SP);
    expect((listed.body.functions as { full_name: string }[]).map((f) => f.full_name)).toEqual([FN]);
    const unnamed = await get("/api/2.1/unity-catalog/functions?catalog_name=main", M2M_SP);
    expect(unnamed).toMatchObject({ status: 400, body: { error_code: "INVALID_PARAMETER_VALUE" } });
  });

  it("answers 404 NOT_FOUND for a function that does not exist, and 403 to a token without the unity-catalog scope", async () => {
    const missing = await get("/api/2.1/unity-catalog/functions/main.sales.nope", "ada.admin@example.com");
    expect(missing).toMatchObject({ status: 404, body: { error_code: "NOT_FOUND" } });
    const narrow = await get(`/api/2.1/unity-catalog/functions/${FN}`, "ada.admin@example.com", ["sql"]);
    expect(narrow.status).toBe(403);
  });

  it("runs the function through SQL as the caller: the row filter applies inside, EXECUTE decides", async () => {
    const run = (who: string) =>
      workspace.context.engine.execute(
        workspace.context.directory.principalFor(who, ["sql"], Date.now() / 1000 + 60)!,
        `SELECT region FROM ${FN}(quarter => :q)`,
        [{ name: "q", value: "2026-Q1", type: "STRING" }],
      );
    expect((await run("5e5e0001-0000-4000-8000-000000000001")).rows).toEqual([["WEST"]]);
    expect((await run("ada.admin@example.com")).rows.map((r) => r[0])).toEqual(["CENTRAL", "EAST", "WEST"]);
    // The server's own identity may describe the function (BROWSE) but not run it.
    await expect(run(M2M_SP)).rejects.toThrow(/PERMISSION|permission/);
  });
});
