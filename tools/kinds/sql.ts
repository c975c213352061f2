import { z } from "zod";
import { CatalogEntryBase, CatalogParameter } from "../catalog/schema.js";
import { defineKind } from "./kind.js";
import { parameterSchema, statementParameters } from "./bound-parameters.js";
import { statementOutput, runStatement } from "./statement-result.js";

/** `:name` markers of a statement (not `::` casts). */
const MARKER = /(?<![:\w]):([A-Za-z_]\w*)/g;
/** `{{name}}` places of a fixed fragment choice. */
const PLACE = /\{\{([a-z_][a-z0-9_]*)\}\}/g;

const Choice = z
  .object({
    name: z.string().regex(/^[a-z_][a-z0-9_]{0,63}$/),
    description: z.string().min(3),
    options: z
      .record(z.string().regex(/^[A-Za-z0-9_]{1,64}$/), z.string())
      .refine((o) => Object.keys(o).length > 0, "give at least one option")
      .describe("Option → the fixed SQL fragment it puts in the statement's {{name}} place."),
    default: z.string().optional(),
  })
  .strict()
  .refine((c) => c.default === undefined || c.default in c.options, { message: "default must be one of the options" });

const Entry = CatalogEntryBase.extend({
  kind: z.literal("sql"),
  warehouse: z.string().min(1).describe("SQL warehouse the statement runs on."),
  statement: z.string().min(1).describe("One fixed statement; values are :name parameters, never text."),
  parameters: z.array(CatalogParameter).default([]),
  choices: z.array(Choice).default([]).describe("Fixed fragments (grouping, ordering) the model picks by name."),
  maxRows: z.number().int().positive().max(10_000).default(1000),
})
  .strict()
  .superRefine((entry, ctx) => {
    const markers = new Set([...entry.statement.matchAll(MARKER)].map((m) => m[1]!));
    const declared = new Set(entry.parameters.map((p) => p.name));
    for (const name of markers)
      if (!declared.has(name) && name !== "row_limit")
        ctx.addIssue({ code: "custom", path: ["statement"], message: `:${name} is not a declared parameter` });
    for (const name of declared)
      if (!markers.has(name))
        ctx.addIssue({ code: "custom", path: ["parameters"], message: `${name} does not appear as :${name}` });
    const places = new Set([...entry.statement.matchAll(PLACE)].map((m) => m[1]!));
    const choices = new Set(entry.choices.map((c) => c.name));
    for (const name of places)
      if (!choices.has(name))
        ctx.addIssue({ code: "custom", path: ["statement"], message: `{{${name}}} is not a declared choice` });
    for (const name of [...declared].filter((n) => choices.has(n) || n === "limit"))
      ctx.addIssue({ code: "custom", path: ["parameters"], message: `${name} is used twice` });
  });

/**
 * A fixed statement with typed, bound parameters. Parameters bound from the verified identity are not in the input
 * schema, and the schema refuses unknown arguments, so a model can neither see nor override them.
 */
export const sqlKind = defineKind("sql", Entry, (entry) => {
  const input: Record<string, z.ZodType> = {};
  for (const p of entry.parameters) if (!p.fromIdentity) input[p.name] = parameterSchema(p);
  for (const c of entry.choices) {
    const option = z.enum(Object.keys(c.options) as [string, ...string[]]).describe(c.description);
    input[c.name] = c.default !== undefined ? option.default(c.default) : option.optional();
  }
  input.limit = z
    .number()
    .int()
    .min(1)
    .max(entry.maxRows)
    .default(Math.min(100, entry.maxRows))
    .describe(`Maximum rows returned (≤ ${entry.maxRows}).`);
  return {
    name: entry.name,
    title: entry.title,
    description: entry.description,
    inputSchema: input,
    outputSchema: statementOutput,
    scopes: ["sql"],
    annotations: entry.annotations,
    timeoutMs: entry.timeoutMs,
    roles: entry.roles,
    async handler(args, ctx) {
      const limit = args.limit as number;
      const chosen = new Map(entry.choices.map((c) => [c.name, c.options[String(args[c.name] ?? "")] ?? ""]));
      const statement = entry.statement.replace(PLACE, (_all, name: string) => chosen.get(name) ?? "");
      const parameters = statementParameters(entry.parameters, args, ctx.caller, entry.name);
      if (/:row_limit\b/.test(statement)) parameters.push({ name: "row_limit", value: String(limit + 1), type: "INT" });
      return runStatement(ctx, { warehouse: entry.warehouse, statement, parameters, limit });
    },
  };
});
