import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { GITHUB_TOKEN } from "../../emulator/local-services/github.js";
import { PARTNER_TOKEN } from "../../emulator/local-services/partner.js";

const EXEC = "erin.exec@example.com";
const USER = "olivia.obo@example.com";
let workspace: LocalWorkspace;
beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 5 });
});
afterAll(async () => {
  await workspace?.close();
});

async function call(who: string, method: string, path: string, body?: unknown, scopes = ["all-apis"]) {
  const { access_token } = await workspace.tokens.issue(who, scopes, 600);
  const res = await fetch(`${workspace.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${access_token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown> };
}
const search = {
  connection_name: "github",
  method: "GET",
  path: "/search/repositories",
  params: '{"q":"databricks sdk"}',
};

describe("Unity Catalog connections of the local workspace", () => {
  it("lists the connections a caller may USE, with where they point and never their credential", async () => {
    const listed = await call(EXEC, "GET", "/api/2.1/unity-catalog/connections");
    expect((listed.body.connections as { name: string }[]).map((c) => c.name)).toEqual(["github", "partner_api"]);
    expect(listed.body.connections).toMatchObject([
      { connection_type: "HTTP", options: { base_path: expect.any(String) } },
      {},
    ]);
    expect(listed.text).not.toContain(GITHUB_TOKEN);
    expect(listed.text).not.toContain(PARTNER_TOKEN);
    expect((await call(USER, "GET", "/api/2.1/unity-catalog/connections")).body.connections).toEqual([]);
  });

  it("forwards an external-function call to the connection's host with the connection's credential", async () => {
    const answer = await call(EXEC, "POST", "/api/2.0/external-function", search);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ incomplete_results: false, items: expect.any(Array) });
    expect((answer.body.items as { full_name: string }[]).map((i) => i.full_name)).toContain(
      "databricks/databricks-sdk-py",
    );
    const partner = await call(EXEC, "POST", "/api/2.0/external-function", {
      connection_name: "partner_api",
      method: "GET",
      path: "/v1/credit-scores",
      params: '{"account":"Acme Corp"}',
    });
    expect(partner.body).toMatchObject({ account: "Acme Corp", band: expect.stringMatching(/^[ABCD]$/) });
  });

  it.each([
    ["a caller without USE CONNECTION", USER, search, 403, "PERMISSION_DENIED"],
    ["a connection that does not exist", EXEC, { ...search, connection_name: "nope" }, 404, "NOT_FOUND"],
    [
      "a path that climbs out of the base path",
      EXEC,
      { ...search, path: "/../../api/2.0/sql/statements" },
      400,
      "INVALID_PARAMETER_VALUE",
    ],
    ["params that are not JSON text", EXEC, { ...search, params: "q=x" }, 400, "INVALID_PARAMETER_VALUE"],
  ])("refuses %s", async (_case, who, body, status, code) => {
    const answer = await call(who, "POST", "/api/2.0/external-function", body);
    expect(answer).toMatchObject({ status, body: { error_code: code } });
  });

  it("never lets a caller's own Authorization header reach the remote service", async () => {
    const answer = await call(EXEC, "POST", "/api/2.0/external-function", {
      ...search,
      headers: '{"Authorization":"Bearer caller-supplied"}',
    });
    expect(answer.status).toBe(200);
  });

  it("stand-ins refuse calls without the connection's credential", async () => {
    const res = await fetch(`${workspace.baseUrl}/local-services/github/search/repositories?q=x`);
    expect(res.status).toBe(401);
  });
});
