import { z } from "zod";
import { ErrorCodes, InputError } from "../../src/errors.js";
import type { StatementParameter } from "../../src/databricks/workspace-api.js";
import { freeText } from "./params.js";
import { textTable } from "./render.js";
import { typedRows } from "./typed-rows.js";
import { CatalogEntryBase } from "../catalog/schema.js";
import { defineKind } from "./kind.js";

/** Identifiers come only from these tables, never from the input text. */
const GROUP_COLUMNS = {
  region: "region",
  quarter: "quarter",
  product: "product",
  account: "account",
  owner_email: "owner_email",
} as const;
const METRICS = {
  total_amount: "SUM(amount) AS total_amount",
  deal_count: "COUNT(*) AS deal_count",
  avg_amount: "AVG(amount) AS avg_amount",
  avg_margin_pct: "AVG(margin_pct) AS avg_margin_pct",
} as const;
const DETAIL_COLUMNS = "deal_id, account, region, owner_email, product, amount, margin_pct, quarter, close_date";

const input = {
  region: z
    .enum(["WEST", "EAST", "CENTRAL"])
    .optional()
    .describe("Only deals of this region. Unity Catalog may narrow it further."),
  quarter: z
    .string()
    .regex(/^\d{4}-Q[1-4]$/)
    .optional()
    .describe("Fiscal quarter, e.g. 2026-Q1."),
  from_date: z.iso.date().optional().describe("Close date on or after (YYYY-MM-DD)."),
  to_date: z.iso.date().optional().describe("Close date on or before (YYYY-MM-DD)."),
  product: freeText(100, "Exact product name.").optional(),
  account: freeText(200, "Exact account name.").optional(),
  group_by: z
    .enum(["region", "quarter", "product", "account", "owner_email"])
    .optional()
    .describe("Aggregate by this column; omit for deal rows."),
  metrics: z
    .array(z.enum(["total_amount", "deal_count", "avg_amount", "avg_margin_pct"]))
    .min(1)
    .max(4)
    .optional()
    .describe("Aggregates when group_by is set (default total_amount, deal_count)."),
  order: z.enum(["asc", "desc"]).default("desc").describe("Order by amount (rows) or the first metric (groups)."),
  limit: z.number().int().min(1).max(1000).default(100).describe("Maximum rows returned (≤ 1000)."),
};
const output = {
  columns: z.array(z.string()).describe("Column names, in row order."),
  rows: z
    .array(z.array(z.union([z.string(), z.number(), z.null()])))
    .describe("Rows as Unity Catalog returned them (masked values are null)."),
  row_count: z.number().int().describe("Rows returned."),
  truncated: z.boolean().describe("True when more rows matched than the limit."),
  statement_id: z.string().describe("The workspace statement id (query history)."),
};

type Input = z.infer<z.ZodObject<typeof input>>;

/** The one statement template: fixed text per (group_by, metrics, order) choice; every value a typed parameter. */
export function buildSalesStatement(
  table: string,
  args: Input,
): { statement: string; parameters: StatementParameter[] } {
  const parameters: StatementParameter[] = [];
  const where: string[] = [];
  const bind = (column: string, op: string, name: string, value: string | undefined, type: string) => {
    if (value === undefined) return;
    where.push(`${column} ${op} :${name}`);
    parameters.push({ name, value, type });
  };
  bind("region", "=", "region", args.region, "STRING");
  bind("quarter", "=", "quarter", args.quarter, "STRING");
  bind("close_date", ">=", "from_date", args.from_date, "DATE");
  bind("close_date", "<=", "to_date", args.to_date, "DATE");
  bind("product", "=", "product", args.product, "STRING");
  bind("account", "=", "account", args.account, "STRING");
  if (args.from_date && args.to_date && args.from_date > args.to_date)
    throw new InputError(ErrorCodes.INVALID_ARGUMENT, "from_date must not be after to_date.");
  parameters.push({ name: "row_limit", value: String(args.limit + 1), type: "INT" });
  const filter = where.length ? ` WHERE ${where.join(" AND ")}` : "";
  const direction = args.order === "asc" ? "ASC" : "DESC";
  if (!args.group_by) {
    return {
      statement: `SELECT ${DETAIL_COLUMNS} FROM ${table}${filter} ORDER BY amount ${direction}, deal_id LIMIT :row_limit`,
      parameters,
    };
  }
  const group = GROUP_COLUMNS[args.group_by];
  const metrics = args.metrics ?? ["total_amount", "deal_count"];
  const first = metrics[0]!;
  return {
    statement: `SELECT ${group}, ${metrics.map((m) => METRICS[m]).join(", ")} FROM ${table}${filter} GROUP BY ${group} ORDER BY ${first} ${direction}, ${group} LIMIT :row_limit`,
    parameters,
  };
}

const Entry = CatalogEntryBase.extend({
  kind: z.literal("sales-query"),
  warehouse: z.string().min(1).describe("SQL warehouse the statement runs on."),
  table: z
    .string()
    .regex(/^[A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*$/, "a three-part name catalog.schema.table")
    .describe(
      "The deals table (deal_id, account, region, owner_email, product, amount, margin_pct, quarter, close_date).",
    ),
}).strict();

/** The demo's deals table with structured filters and optional grouping: one fixed template, every value bound. */
export const salesQueryKind = defineKind("sales-query", Entry, (entry) => ({
  name: entry.name,
  title: entry.title,
  description: entry.description,
  inputSchema: input,
  outputSchema: output,
  scopes: ["sql"],
  annotations: entry.annotations,
  timeoutMs: entry.timeoutMs,
  roles: entry.roles,
  async handler(raw, ctx) {
    const args = raw as Input;
    const { statement, parameters } = buildSalesStatement(entry.table, args);
    const result = await ctx.workspace.executeStatement({
      warehouseId: entry.warehouse,
      statement,
      parameters,
      rowLimit: args.limit + 1,
      signal: ctx.signal,
      deadline: ctx.deadline,
    });
    const truncated = result.rows.length > args.limit || result.truncated;
    const rows = result.rows.slice(0, args.limit);
    const columns = result.columns.map((c) => c.name);
    const typed = typedRows(result.columns, rows);
    const text = `${typed.length} row(s)${truncated ? ` (truncated at ${args.limit}; narrow the filters or raise limit)` : ""}.\n${textTable(columns, typed)}`;
    return {
      structured: { columns, rows: typed, row_count: typed.length, truncated, statement_id: result.statementId },
      text,
      rowsReturned: typed.length,
    };
  },
}));
