import { z } from "zod";
import type { ResolvedCaller } from "../../src/identity/types.js";
import type { StatementParameter } from "../../src/databricks/workspace-api.js";
import { CatalogEntryBase, CatalogParameter } from "../catalog/schema.js";
import { defineKind } from "./kind.js";
import { parameterSchema, statementParameters } from "./bound-parameters.js";
import { rowLimit, runStatement, statementTool } from "./statement-result.js";
import {
  Choice,
  Range,
  choiceSchema,
  markersOf,
  renderStatement,
  statementRenderer,
  templateIssues,
} from "./sql-template.js";

const Entry = CatalogEntryBase.extend({
  kind: z.literal("sql"),
  warehouse: z.string().min(1).describe("SQL warehouse the statement runs on."),
  table: z
    .string()
    .regex(/^[A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*$/, "a three-part name catalog.schema.table")
    .optional()
    .describe("The table the statement reads, put in its {{table}} place."),
  statement: z.string().min(1).describe("One fixed statement; values are :name parameters, never text."),
  parameters: z.array(CatalogParameter).default([]),
  where: z
    .array(z.string().min(1))
    .default([])
    .describe("Conditions put in the {{where}} place, each only when its parameters have values."),
  choices: z.array(Choice).default([]).describe("Fixed fragments (grouping, ordering) the model picks by name."),
  ranges: z.array(Range).default([]).describe("Parameter pairs a call may not give in the wrong order."),
  maxRows: z.number().int().positive().max(10_000).default(1000),
  truncatedHint: z
    .string()
    .min(3)
    .optional()
    .describe("What a truncated result tells the model to do (e.g. narrow the filters or raise limit)."),
})
  .strict()
  .superRefine((entry, ctx) => {
    for (const issue of templateIssues(entry)) ctx.addIssue({ code: "custom", ...issue, path: [issue.path] });
  });

/**
 * A fixed statement with typed, bound parameters. Parameters bound from the verified identity are not in the input
 * schema, and the schema refuses unknown arguments, so a model can neither see nor override them.
 */
export const sqlKind = defineKind("sql", Entry, (entry) => {
  const input: Record<string, z.ZodType> = {};
  for (const p of entry.parameters) if (!p.fromIdentity) input[p.name] = parameterSchema(p);
  for (const c of entry.choices) input[c.name] = choiceSchema(c);
  input.limit = rowLimit(entry.maxRows);
  const render = statementRenderer(entry);
  return statementTool(entry, input, async (args, ctx) => {
    const limit = args.limit as number;
    const { statement, markers: used } = render(args);
    const parameters = statementParameters(
      entry.parameters.filter((p) => used.has(p.name)),
      args,
      ctx.caller,
      entry.name,
    );
    if (used.has("row_limit")) parameters.push({ name: "row_limit", value: String(limit + 1), type: "INT" });
    return runStatement(ctx, {
      warehouse: entry.warehouse,
      statement,
      parameters,
      limit,
      truncatedHint: entry.truncatedHint,
    });
  });
});

/**
 * The statement and parameters an entry without identity-bound parameters sends for these arguments (defaults
 * applied), as the handler would: what a benchmark sends straight to the workspace to compare.
 */
export function statementOfEntry(
  raw: unknown,
  rawArgs: Readonly<Record<string, unknown>>,
): { statement: string; parameters: StatementParameter[] } {
  const entry = Entry.parse(raw);
  const tool = sqlKind.build!(entry, { toolNames: [] });
  const args = z.object(tool.inputSchema).strict().parse(rawArgs);
  const statement = renderStatement(entry, args);
  const used = markersOf(statement);
  // No caller: an identity-bound parameter is refused, as for a credential without the claim.
  const nobody = { identity: {} } as unknown as ResolvedCaller;
  const parameters = statementParameters(
    entry.parameters.filter((p) => used.has(p.name)),
    args,
    nobody,
    entry.name,
  );
  if (used.has("row_limit")) parameters.push({ name: "row_limit", value: String(Number(args.limit) + 1), type: "INT" });
  return { statement, parameters };
}
