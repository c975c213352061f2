import { z } from "zod";
import { freeText } from "./params.js";
import { CatalogEntryBase } from "../catalog/schema.js";
import { defineKind } from "./kind.js";

const input = {
  query: freeText(2000, "What to look for in the knowledge base (policies, playbooks, product sheets)."),
  num_results: z.number().int().min(1).max(20).default(5).describe("Passages to return (≤ 20)."),
  category: freeText(64, "Only documents of this category (e.g. policy, playbook, product).").optional(),
  region: z.enum(["ALL", "WEST", "EAST", "CENTRAL"]).optional().describe("Only documents for this region."),
  query_type: z
    .enum(["HYBRID", "ANN"])
    .default("HYBRID")
    .describe("HYBRID (keyword + vector, default) or ANN (vector only)."),
};
const output = {
  passages: z
    .array(
      z
        .object({
          doc_id: z.string().describe("Id of the source document."),
          title: z.string().describe("Title of the source document."),
          category: z.string().nullable().describe("Document category (policy, playbook, product…)."),
          region: z.string().nullable().describe("Region the document applies to (ALL, WEST, EAST, CENTRAL)."),
          content: z.string().describe("The passage text."),
          score: z.number().describe("Relevance score; higher is better."),
        })
        .describe("One passage."),
    )
    .describe("Matching passages, best first, with their relevance score."),
};
const COLUMNS = ["doc_id", "title", "category", "region", "content"];

const Entry = CatalogEntryBase.extend({
  kind: z.literal("vector-search"),
  index: z.string().min(1).describe("The Vector Search index (catalog.schema.index) with document columns."),
}).strict();

type Input = z.infer<z.ZodObject<typeof input>>;

/** A Vector Search index of documents (doc_id, title, category, region, content), queried as the caller. */
export const vectorSearchKind = defineKind("vector-search", Entry, (entry) => ({
  name: entry.name,
  title: entry.title,
  description: entry.description,
  inputSchema: input,
  outputSchema: output,
  scopes: ["vectorsearch.vector-search-indexes"],
  annotations: entry.annotations,
  timeoutMs: entry.timeoutMs,
  roles: entry.roles,
  async handler(raw, ctx) {
    const args = raw as Input;
    const filters: Record<string, string> = {};
    if (args.category) filters.category = args.category;
    if (args.region) filters.region = args.region;
    const response = await ctx.workspace.queryIndex(
      entry.index,
      {
        query_text: args.query,
        num_results: args.num_results,
        columns: COLUMNS,
        query_type: args.query_type,
        ...(Object.keys(filters).length ? { filters_json: JSON.stringify(filters) } : {}),
      },
      { signal: ctx.signal, deadline: ctx.deadline },
    );
    const names = response.manifest.columns.map((c) => c.name);
    const passages = (response.result.data_array ?? []).map((row) => {
      const get = (n: string) => row[names.indexOf(n)];
      const str = (n: string) => (get(n) === undefined || get(n) === null ? null : String(get(n)));
      return {
        doc_id: String(get("doc_id")),
        title: String(get("title") ?? ""),
        category: str("category"),
        region: str("region"),
        content: String(get("content") ?? ""),
        score: Number(get("score") ?? 0),
      };
    });
    const text = passages.length
      ? passages
          .map((p, i) => `${i + 1}. [${p.doc_id}] ${p.title} (score ${p.score.toFixed(3)})\n${p.content}`)
          .join("\n\n")
      : "No passage matched.";
    return { structured: { passages }, text, rowsReturned: passages.length };
  },
}));
