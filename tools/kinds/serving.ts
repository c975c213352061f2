import { z } from "zod";
import { freeText } from "./params.js";
import { CatalogEntryBase } from "../catalog/schema.js";
import { defineKind, entryFields } from "./kind.js";

const input = {
  question: freeText(4000, "The question for the supervisor agent."),
  history: z
    .array(
      z
        .object({
          role: z.enum(["user", "assistant"]).describe("Who spoke this turn."),
          content: freeText(8000, "What was said."),
        })
        .strict()
        .describe("One prior turn."),
    )
    .max(20)
    .optional()
    .describe("Prior turns of the conversation, oldest first."),
};
const output = {
  answer: z.string().describe("The supervisor's answer."),
  sources: z
    .array(
      z
        .object({
          title: z.string().describe("Title of the source."),
          ref: z.string().nullable().describe("Document id or URL of the source, when known."),
        })
        .describe("One source."),
    )
    .describe("Sources the answer used (documents, tables)."),
};

interface ResponsesOutput {
  output?: {
    type?: string;
    content?: {
      type?: string;
      text?: string;
      annotations?: { title?: string; url?: string; doc_id?: string; type?: string }[];
    }[];
  }[];
  custom_outputs?: { sources?: { title?: string; id?: string; ref?: string }[] };
}

const Entry = CatalogEntryBase.extend({
  kind: z.literal("serving"),
  endpoint: z.string().min(1).describe("A Model Serving endpoint that speaks the Responses-agent format."),
}).strict();

type Input = z.infer<z.ZodObject<typeof input>>;

/** An agent on a Model Serving endpoint (Responses-agent input), invoked as the caller. */
export const servingKind = defineKind("serving", Entry, (entry) => ({
  ...entryFields(entry),
  inputSchema: input,
  outputSchema: output,
  scopes: ["serving.serving-endpoints"],
  async handler(raw, ctx) {
    const args = raw as Input;
    const body = { input: [...(args.history ?? []), { role: "user", content: args.question }] };
    const response = (await ctx.workspace.invokeServing(entry.endpoint, body, {
      signal: ctx.signal,
      deadline: ctx.deadline,
    })) as ResponsesOutput;
    const parts = (response.output ?? []).flatMap((o) => o.content ?? []).filter((c) => c.type === "output_text");
    const answer =
      parts
        .map((p) => p.text ?? "")
        .join("\n")
        .trim() || "The supervisor returned no answer.";
    const fromAnnotations = parts
      .flatMap((p) => p.annotations ?? [])
      .map((a) => ({ title: String(a.title ?? a.doc_id ?? a.url ?? "source"), ref: a.url ?? a.doc_id ?? null }));
    const fromCustom = (response.custom_outputs?.sources ?? []).map((s) => ({
      title: String(s.title ?? s.id ?? "source"),
      ref: s.ref ?? s.id ?? null,
    }));
    const sources = fromAnnotations.length ? fromAnnotations : fromCustom;
    return {
      structured: { answer, sources },
      text: `${answer}${sources.length ? `\n\nSources: ${sources.map((s) => s.title).join("; ")}` : ""}`,
      rowsReturned: sources.length,
    };
  },
}));
