import { z } from "zod";
import type { StatementParameter } from "../../src/databricks/workspace-api.js";
import { freeText } from "./params.js";
import { textTable } from "./render.js";
import { typedRows } from "./typed-rows.js";
import { CatalogEntryBase } from "../catalog/schema.js";
import { defineKind, entryFields } from "./kind.js";

const input = {
  user: freeText(320, "Only calls by this human (email or IdP subject).").optional(),
  tool: freeText(64, "Only calls of this tool (its name, e.g. query_sales_data).").optional(),
  outcome: z
    .enum(["allowed", "denied", "failed", "cancelled", "unknown"])
    .optional()
    .describe("Only calls with this outcome (unknown: the server died while the call was under way)."),
  from_time: z.iso.datetime({ offset: true }).optional().describe("Calls at or after this time (ISO 8601)."),
  to_time: z.iso.datetime({ offset: true }).optional().describe("Calls at or before this time (ISO 8601)."),
  limit: z.number().int().min(1).max(1000).default(100).describe("Maximum rows (≤ 1000), newest first."),
};
const COLUMNS =
  "record_id, event_time, request_id, mode, credential_source, human, workspace_principal, role, tool, outcome, error_code, rows_returned, latency_ms, statement_ids";
const output = {
  columns: z.array(z.string()).describe("Column names."),
  rows: z.array(z.array(z.union([z.string(), z.number(), z.null()]))).describe("Audit rows, newest first."),
  row_count: z.number().int().describe("Rows returned."),
  truncated: z.boolean().describe("True when more rows matched than the limit."),
};

const Entry = CatalogEntryBase.extend({
  kind: z.literal("audit-log"),
  warehouse: z.string().min(1).describe("SQL warehouse the audit table is read on."),
  table: z
    .string()
    .regex(/^[A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*$/, "a three-part name catalog.schema.table")
    .describe("The audit table."),
}).strict();

type Input = z.infer<z.ZodObject<typeof input>>;

/** The audit trail, read with the caller's own credential: Unity Catalog grants decide who may read it. */
export const auditLogKind = defineKind("audit-log", Entry, (entry) => ({
  ...entryFields(entry),
  inputSchema: input,
  outputSchema: output,
  scopes: ["sql"],
  async handler(raw, ctx) {
    const args = raw as Input;
    const parameters: StatementParameter[] = [];
    const where: string[] = [];
    const bind = (clause: string, name: string, value: string | undefined, type: string) => {
      if (value === undefined) return;
      where.push(clause);
      parameters.push({ name, value, type });
    };
    bind("human = :user", "user", args.user, "STRING");
    bind("tool = :tool", "tool", args.tool, "STRING");
    bind("outcome = :outcome", "outcome", args.outcome, "STRING");
    bind("event_time >= :from_time", "from_time", args.from_time, "TIMESTAMP");
    bind("event_time <= :to_time", "to_time", args.to_time, "TIMESTAMP");
    parameters.push({ name: "row_limit", value: String(args.limit + 1), type: "INT" });
    const statement = `SELECT ${COLUMNS} FROM ${entry.table}${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY event_time DESC, record_id LIMIT :row_limit`;
    const result = await ctx.workspace.executeStatement({
      warehouseId: entry.warehouse,
      statement,
      parameters,
      rowLimit: args.limit + 1,
      signal: ctx.signal,
      deadline: ctx.deadline,
    });
    const rows = typedRows(result.columns, result.rows.slice(0, args.limit));
    const columns = result.columns.map((c) => c.name);
    return {
      structured: { columns, rows, row_count: rows.length, truncated: result.rows.length > args.limit },
      text: `${rows.length} audit row(s).\n${textTable(columns, rows)}`,
      rowsReturned: rows.length,
    };
  },
}));
