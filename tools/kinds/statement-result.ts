import { z } from "zod";
import type { StatementParameter } from "../../src/databricks/workspace-api.js";
import { textTable } from "./render.js";
import { typedRows } from "./typed-rows.js";
import type { CatalogEntryBase } from "../catalog/schema.js";
import type { ToolAnnotations } from "@modelcontextprotocol/server";
import type { ToolContext, ToolDefinition, ToolResult } from "../types.js";
import { entryFields } from "./kind.js";

/** What every statement-backed kind returns. */
export const statementOutput = {
  columns: z.array(z.string()).describe("Column names, in row order."),
  rows: z
    .array(z.array(z.union([z.string(), z.number(), z.null()])))
    .describe("Rows as Unity Catalog returned them (masked values are null)."),
  row_count: z.number().int().describe("Rows returned."),
  truncated: z.boolean().describe("True when more rows matched than the limit."),
  statement_id: z.string().describe("The workspace statement id (query history)."),
};
type StatementOutput = z.infer<z.ZodObject<typeof statementOutput>>;

/** The row limit a statement-backed tool takes: at most the entry's `maxRows`, 100 unless asked. */
export function rowLimit(maxRows: number): z.ZodType {
  return z
    .number()
    .int()
    .min(1)
    .max(maxRows)
    .default(Math.min(100, maxRows))
    .describe(`Maximum rows returned (≤ ${maxRows}).`);
}

/** A statement-backed tool: what its entry names, the statement output and the `sql` scope; the kind adds its handler. */
export function statementTool(
  entry: CatalogEntryBase,
  inputSchema: Record<string, z.ZodType>,
  handler: (args: Record<string, unknown>, ctx: ToolContext) => Promise<ToolResult<StatementOutput>>,
  annotations: ToolAnnotations = entry.annotations,
): ToolDefinition {
  return {
    ...entryFields(entry),
    inputSchema,
    outputSchema: statementOutput,
    scopes: ["sql"],
    annotations,
    handler: handler as ToolDefinition["handler"],
  };
}

/** Runs one statement as the caller, one row past the limit to tell whether more matched; at most `maxBytes` of rows. */
export async function runStatement(
  ctx: ToolContext,
  run: {
    warehouse: string;
    statement: string;
    parameters: StatementParameter[];
    limit: number;
    maxBytes?: number;
    /** What a truncated result tells the model to do, after the limit it was cut at. */
    truncatedHint?: string;
  },
): Promise<ToolResult<StatementOutput>> {
  const result = await ctx.workspace.executeStatement({
    warehouseId: run.warehouse,
    statement: run.statement,
    parameters: run.parameters,
    rowLimit: run.limit + 1,
    signal: ctx.signal,
    deadline: ctx.deadline,
  });
  let truncated = result.rows.length > run.limit || result.truncated;
  const columns = result.columns.map((c) => c.name);
  let rows = typedRows(result.columns, result.rows.slice(0, run.limit));
  if (run.maxBytes !== undefined) {
    let bytes = 0;
    const kept = rows.findIndex((row) => (bytes += Buffer.byteLength(JSON.stringify(row))) > run.maxBytes!);
    if (kept !== -1) {
      rows = rows.slice(0, kept);
      truncated = true;
    }
  }
  const cut = run.truncatedHint
    ? `truncated at ${run.limit}; ${run.truncatedHint}`
    : "truncated; narrow the statement or lower limit";
  const text = `${rows.length} row(s)${truncated ? ` (${cut})` : ""}.\n${textTable(columns, rows)}`;
  return {
    structured: { columns, rows, row_count: rows.length, truncated, statement_id: result.statementId },
    text,
    rowsReturned: rows.length,
  };
}
