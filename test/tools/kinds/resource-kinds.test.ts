import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalWorkspace } from "../../../emulator/workspace.js";
import type { WorkspaceHttpClient } from "../../../src/databricks/http-client.js";
import { ErrorCodes, type GovernedError } from "../../../src/errors.js";
import { buildCatalog } from "../../../tools/catalog/load.js";
import { closeKindWorkspace, startKindWorkspace, userToolContext } from "../../support/tool-context.js";

const common = { title: "A tool", description: "A tool of a kind bound to one resource, for this test." };
/** The columns an entry of the vector-search kind names (here two of the seeded index's). */
const DOCS = {
  columns: [
    { name: "doc_id", description: "Id of the document." },
    { name: "content", description: "The passage text." },
  ],
  textColumn: "content",
};
const KINDS = [
  ["identity", { warehouse: "wh" }, "warehouse", ["sql"]],
  ["audit-log", { warehouse: "wh", table: "main.governance.mcp_audit" }, "table", ["sql"]],
  ["genie", { space: "space-1" }, "space", ["dashboards.genie"]],
  ["vector-search", { index: "main.knowledge.docs_index", ...DOCS }, "index", ["vectorsearch.vector-search-indexes"]],
  ["serving", { endpoint: "agent" }, "endpoint", ["serving.serving-endpoints"]],
] as const;
const build = (entries: Record<string, unknown>[]) => buildCatalog({ tools: entries }, { workspace: {} }).tools;

describe("kinds bound to one resource", () => {
  it.each(KINDS)(
    "%s takes its name, text, roles and deadline from the entry and needs %s",
    (kind, resource, _field, scopes) => {
      const [tool] = build([{ name: "t", kind, ...common, ...resource, roles: ["admin"], timeoutMs: 1234 }]);
      expect(tool).toMatchObject({
        name: "t",
        title: "A tool",
        description: common.description,
        roles: ["admin"],
        timeoutMs: 1234,
      });
      expect(tool!.scopes).toEqual(scopes);
    },
  );

  it.each(KINDS)(
    "%s refuses an entry without its resource (%s) or with a field it does not know",
    (kind, resource, field) => {
      const { [field]: _drop, ...without } = resource as Record<string, string>;
      expect(() => build([{ name: "t", kind, ...common, ...without }])).toThrow(new RegExp(`\\(t\\)\\.${field}`));
      expect(() => build([{ name: "t", kind, ...common, ...resource, colour: "blue" }])).toThrow(/colour/);
    },
  );
});

describe("several entries of one kind, each bound to its own resource", () => {
  let workspace: LocalWorkspace;
  let http: WorkspaceHttpClient;
  beforeAll(async () => {
    ({ workspace, http } = await startKindWorkspace());
  });
  afterAll(() => closeKindWorkspace({ workspace, http }));

  it.each([
    ["genie", "space", () => workspace.context.seed.genieSpaces[0]!.id, { question: "how many deals" }],
    [
      "vector-search",
      "index",
      () => workspace.context.seed.vectorIndexes[0]!.name,
      { query: "discount", num_results: 1, query_type: "HYBRID" },
    ],
  ] as const)(
    "%s: one entry reaches its %s, another entry's missing one answers NOT_FOUND",
    async (kind, field, real, args) => {
      const [good, missing] = build([
        { name: "good", kind, ...common, ...(kind === "vector-search" ? DOCS : {}), [field]: real() },
        {
          name: "missing",
          kind,
          ...common,
          ...(kind === "vector-search" ? DOCS : {}),
          [field]: field === "index" ? "main.knowledge.nope" : "01f0ffffffffffffffffffffffffffff",
        },
      ]);
      const ctx = await userToolContext(workspace, http, "ada.admin@example.com");
      const out = await good!.handler(args, ctx);
      expect(out.rowsReturned).toBeGreaterThanOrEqual(0);
      const error = await missing!.handler(args, ctx).catch((e: GovernedError) => e);
      expect((error as GovernedError).code).toBe(ErrorCodes.NOT_FOUND);
    },
  );
});
