import { z } from "zod";
import { freeText } from "./params.js";
import { CatalogEntryBase } from "../catalog/schema.js";
import { defineKind, entryFields } from "./kind.js";

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

/** One column of the index a passage carries, as the model reads it. */
const Column = z
  .object({
    name: z.string().regex(/^[A-Za-z_]\w{0,63}$/, "a column name is an identifier"),
    description: z.string().min(3).describe("What the model reads about this field."),
    nullable: z.boolean().default(false).describe("The index may hold no value for it (given as null)."),
  })
  .strict();
type Column = z.infer<typeof Column>;

const Entry = CatalogEntryBase.extend({
  kind: z.literal("vector-search"),
  index: z.string().min(1).describe("The Vector Search index (catalog.schema.index) with document columns."),
  columns: z
    .array(Column)
    .min(1)
    .describe("The index columns each passage returns, in order; the first is the passage's id.")
    .refine((cs) => new Set(cs.map((c) => c.name)).size === cs.length, "each column may appear once")
    .refine((cs) => !cs.some((c) => c.name === "score"), "score is the relevance the kind adds; name no column so"),
  titleColumn: z.string().optional().describe("The column shown as the passage's title in the text answer."),
  textColumn: z.string().describe("The column holding the passage text."),
})
  .strict()
  .superRefine((entry, ctx) => {
    const names = new Set(entry.columns.map((c) => c.name));
    for (const field of ["titleColumn", "textColumn"] as const) {
      const name = entry[field];
      if (name !== undefined && !names.has(name))
        ctx.addIssue({ code: "custom", path: [field], message: `${name} is not one of the columns` });
    }
  });

type Input = z.infer<z.ZodObject<typeof input>>;

/** The output schema of an entry: its columns (described by the entry) and the score, per passage. */
function outputOf(columns: readonly Column[]) {
  const fields: Record<string, z.ZodType> = {};
  for (const c of columns) fields[c.name] = (c.nullable ? z.string().nullable() : z.string()).describe(c.description);
  fields.score = z.number().describe("Relevance score; higher is better.");
  return {
    passages: z
      .array(z.object(fields).describe("One passage."))
      .describe("Matching passages, best first, with their relevance score."),
  };
}

/** A Vector Search index of documents, queried as the caller; the entry names the columns a passage carries. */
export const vectorSearchKind = defineKind("vector-search", Entry, (entry) => ({
  ...entryFields(entry),
  inputSchema: input,
  outputSchema: outputOf(entry.columns),
  scopes: ["vectorsearch.vector-search-indexes"],
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
        columns: entry.columns.map((c) => c.name),
        query_type: args.query_type,
        ...(Object.keys(filters).length ? { filters_json: JSON.stringify(filters) } : {}),
      },
      { signal: ctx.signal, deadline: ctx.deadline },
    );
    const names = response.manifest.columns.map((c) => c.name);
    const passages = (response.result.data_array ?? []).map((row) => {
      const get = (n: string) => row[names.indexOf(n)];
      const passage: Record<string, string | number | null> = {};
      for (const c of entry.columns) {
        const value = get(c.name);
        passage[c.name] = value === undefined || value === null ? (c.nullable ? null : "") : String(value);
      }
      passage.score = Number(get("score") ?? 0);
      return passage;
    });
    const id = entry.columns[0]!.name;
    const text = passages.length
      ? passages
          .map((p, i) => {
            const title = entry.titleColumn ? ` ${String(p[entry.titleColumn])}` : "";
            const score = (p.score as number).toFixed(3);
            return `${i + 1}. [${String(p[id])}]${title} (score ${score})\n${String(p[entry.textColumn])}`;
          })
          .join("\n\n")
      : "No passage matched.";
    return { structured: { passages }, text, rowsReturned: passages.length };
  },
}));
