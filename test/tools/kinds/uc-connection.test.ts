import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalWorkspace } from "../../../emulator/workspace.js";
import { GITHUB_TOKEN } from "../../../emulator/local-services/github.js";
import type { WorkspaceHttpClient } from "../../../src/databricks/http-client.js";
import { ErrorCodes, type GovernedError } from "../../../src/errors.js";
import { buildToolCatalog } from "../../../src/mcp/tool-catalog.js";
import { buildCatalog } from "../../../tools/catalog/load.js";
import { closeKindWorkspace, startKindWorkspace, userToolContext } from "../../support/tool-context.js";

const base = {
  name: "repo_search",
  kind: "uc-connection",
  title: "Repository search",
  description: "Searches repositories through the github connection, as you.",
  connection: "github",
  path: "/search/repositories",
  query: [
    { name: "q", description: "Search terms.", required: true },
    { name: "per_page", type: "integer", minimum: 1, maximum: 5, default: 2, description: "Results per page." },
  ],
};
const build = (entry: Record<string, unknown>) =>
  buildToolCatalog(buildCatalog({ tools: [entry] }, { workspace: {} }).tools).get(entry.name as string)!;

describe("the uc-connection kind", () => {
  it("offers the query and body parameters, never the method, path or credential", () => {
    const { listing } = build(base);
    expect(Object.keys(listing.inputSchema.properties ?? {})).toEqual(["q", "per_page"]);
    expect(build(base).input.safeParse({ q: "x", path: "/admin" }).success).toBe(false);
  });

  it.each([
    ["a path that climbs", { path: "/a/../b" }, /a path without \.\./],
    [
      "a fixed Authorization header",
      { headers: { Authorization: "Bearer x" } },
      /the connection supplies the credential/,
    ],
    ["a parameter named twice", { body: [{ name: "q", description: "again" }] }, /q is used twice/],
  ])("refuses an entry with %s", (_case, change, message) => {
    expect(() => build({ ...base, ...change })).toThrow(message);
  });

  describe("against the local workspace", () => {
    let workspace: LocalWorkspace;
    let http: WorkspaceHttpClient;
    beforeAll(async () => {
      ({ workspace, http } = await startKindWorkspace());
    });
    afterAll(() => closeKindWorkspace({ workspace, http }));

    it("calls the remote service as the caller, through the connection, never showing its credential", async () => {
      const ctx = await userToolContext(workspace, http, "erin.exec@example.com");
      const out = await build(base).definition.handler({ q: "databricks", per_page: 2 }, ctx);
      const response = (out.structured as { response: { items: unknown[]; total_count: number } }).response;
      expect(response.items).toHaveLength(2);
      expect(response.total_count).toBeGreaterThan(2);
      expect(JSON.stringify(out)).not.toContain(GITHUB_TOKEN);
    });

    it("lets USE CONNECTION decide: a caller without it gets ACCESS_DENIED", async () => {
      const ctx = await userToolContext(workspace, http, "olivia.obo@example.com");
      const error = await build(base)
        .definition.handler({ q: "databricks" }, ctx)
        .catch((e: GovernedError) => e);
      expect((error as GovernedError).code).toBe(ErrorCodes.ACCESS_DENIED);
    });
  });
});
