import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalWorkspace } from "../../../emulator/workspace.js";
import type { WorkspaceHttpClient } from "../../../src/databricks/http-client.js";
import { buildToolCatalog } from "../../../src/mcp/tool-catalog.js";
import { buildCatalog } from "../../../tools/catalog/load.js";
import { closeKindWorkspace, startKindWorkspace, userToolContext } from "../../support/tool-context.js";

const entry = {
  name: "policy_search",
  kind: "vector-search",
  title: "Policy search",
  description: "Searches our policy documents and returns passages.",
  index: "main.knowledge.docs_index",
  columns: [
    { name: "doc_id", description: "Id of the document." },
    { name: "category", nullable: true, description: "Its category." },
    { name: "content", description: "The passage text." },
  ],
  textColumn: "content",
};
const build = (e: Record<string, unknown>) =>
  buildToolCatalog(buildCatalog({ tools: [e] }, { workspace: {} }).tools).get(e.name as string)!;

let workspace: LocalWorkspace;
let http: WorkspaceHttpClient;
beforeAll(async () => {
  ({ workspace, http } = await startKindWorkspace());
});
afterAll(() => closeKindWorkspace({ workspace, http }));

describe("the vector-search kind", () => {
  it("returns the columns its entry names, described as the entry says, and a score", async () => {
    const { definition, listing } = build({ ...entry, index: workspace.context.seed.vectorIndexes[0]!.name });
    const passage = (
      listing.outputSchema as { properties: { passages: { items: { properties: Record<string, unknown> } } } }
    ).properties.passages.items.properties;
    expect(Object.keys(passage)).toEqual(["doc_id", "category", "content", "score"]);
    expect(passage.category).toMatchObject({ description: "Its category." });
    const ctx = await userToolContext(workspace, http, "ada.admin@example.com");
    const out = await definition.handler({ query: "discount", num_results: 2, query_type: "HYBRID" }, ctx);
    const { passages } = out.structured as { passages: Record<string, unknown>[] };
    expect(passages.length).toBeGreaterThan(0);
    for (const p of passages) expect(Object.keys(p)).toEqual(["doc_id", "category", "content", "score"]);
    expect(out.text).toMatch(/^1\. \[[^\]]+\] \(score \d\.\d{3}\)\n\S/);
  });

  it.each([
    ["no columns", { columns: [] }, /columns/],
    ["a text column it does not return", { textColumn: "body" }, /body is not one of the columns/],
    ["a title column it does not return", { titleColumn: "title" }, /title is not one of the columns/],
    [
      "a column named like the score",
      { columns: [...entry.columns, { name: "score", description: "x y z" }] },
      /score/,
    ],
    ["a column twice", { columns: [...entry.columns, entry.columns[0]] }, /each column may appear once/],
  ])("refuses an entry with %s", (_case, change, message) => {
    expect(() => build({ ...entry, ...change })).toThrow(message);
  });
});
