import { describe, expect, it } from "vitest";
import { ErrorCodes, type GovernedError } from "../../../src/errors.js";
import { buildToolCatalog } from "../../../src/mcp/tool-catalog.js";
import { buildCatalog } from "../../../tools/catalog/load.js";
import { markersOf, renderStatement, statementRenderer, type SqlTemplate } from "../../../tools/kinds/sql-template.js";

/** A small sales entry: optional filters, a grouping choice, a multiple metrics choice with a fallback, an order. */
const entry = {
  name: "sales",
  kind: "sql",
  title: "Sales",
  description: "Deals, filtered, optionally grouped with metrics.",
  warehouse: "wh",
  table: "main.sales.deals",
  statement:
    "{{^group_by}}SELECT deal_id, amount FROM {{table}}{{where}} ORDER BY amount {{order}} LIMIT :row_limit{{/group_by}}" +
    "{{#group_by}}SELECT {{group_by}}, {{metrics}} FROM {{table}}{{where}} GROUP BY {{group_by}} ORDER BY 2 {{order}}, 1 LIMIT :row_limit{{/group_by}}",
  parameters: [
    { name: "region", enum: ["WEST", "EAST"], description: "Only this region." },
    { name: "from_date", type: "date", description: "Closed on or after." },
    { name: "to_date", type: "date", description: "Closed on or before." },
    { name: "me", fromIdentity: "email" },
  ],
  where: ["owner_email = :me", "region = :region", "close_date >= :from_date", "close_date <= :to_date"],
  ranges: [{ from: "from_date", to: "to_date" }],
  choices: [
    { name: "group_by", description: "Group by this column.", options: { region: "region", product: "product" } },
    {
      name: "metrics",
      description: "Aggregates (default total).",
      multiple: true,
      maxItems: 2,
      fallback: ["total"],
      options: { total: "SUM(amount) AS total", count: "COUNT(*) AS n", avg: "AVG(amount) AS mean" },
    },
    { name: "order", description: "Direction.", options: { asc: "ASC", desc: "DESC" }, default: "desc" },
  ],
};
const build = (e: Record<string, unknown>) =>
  buildToolCatalog(buildCatalog({ tools: [e] }, { workspace: {} }).tools).get(e.name as string)!;
const template = (e: Record<string, unknown> = entry) => {
  const { tools } = buildCatalog({ tools: [e] }, { workspace: {} });
  expect(tools).toHaveLength(1);
  return { ...(e as unknown as SqlTemplate), where: (e.where as string[]) ?? [], ranges: (e.ranges as []) ?? [] };
};
const input = (args: Record<string, unknown>) => build(entry).input.parse(args) as Record<string, unknown>;

describe("the sql kind's fixed fragments", () => {
  it.each([
    [
      "no choice: the rows statement, only the bound condition",
      {},
      "SELECT deal_id, amount FROM main.sales.deals WHERE owner_email = :me ORDER BY amount DESC LIMIT :row_limit",
    ],
    [
      "a filter given: its condition joins the where clause",
      { region: "EAST", order: "asc" },
      "SELECT deal_id, amount FROM main.sales.deals WHERE owner_email = :me AND region = :region ORDER BY amount ASC LIMIT :row_limit",
    ],
    [
      "a grouping without metrics: the fallback metric",
      { group_by: "product" },
      "SELECT product, SUM(amount) AS total FROM main.sales.deals WHERE owner_email = :me GROUP BY product ORDER BY 2 DESC, 1 LIMIT :row_limit",
    ],
    [
      "several metrics: their fragments in the chosen order, joined",
      { group_by: "region", metrics: ["count", "avg"], from_date: "2026-01-01" },
      "SELECT region, COUNT(*) AS n, AVG(amount) AS mean FROM main.sales.deals WHERE owner_email = :me AND close_date >= :from_date GROUP BY region ORDER BY 2 DESC, 1 LIMIT :row_limit",
    ],
  ])("%s", (_case, args, statement) => {
    expect(renderStatement(template(), input(args))).toBe(statement);
  });

  it.each([
    ["a single choice outside its options", { group_by: "owner_email" }],
    ["a fragment's text instead of its option", { group_by: "region; DROP TABLE main.sales.deals" }],
    ["a multiple choice with one value outside its options", { metrics: ["total", "MAX(amount)"] }],
    ["a multiple choice given as one string", { metrics: "total" }],
    ["an empty multiple choice", { metrics: [] }],
    ["more options than maxItems", { metrics: ["total", "count", "avg"] }],
    ["a parameter outside its enum", { region: "WEST' OR 1=1 --" }],
  ])("refuses %s before anything is sent", (_case, args) => {
    expect(build(entry).input.safeParse(args).success).toBe(false);
  });

  it("never puts an argument's text in the statement, even past the input schema", () => {
    const hostile = "product FROM x; DROP TABLE main.sales.deals --";
    const error = (() => {
      try {
        renderStatement(template(), { group_by: hostile, order: "desc" });
      } catch (e) {
        return e as GovernedError;
      }
    })();
    expect(error?.code).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(() => renderStatement(template(), { group_by: "region", metrics: ["total", hostile] })).toThrow(
      /metrics must be one of the listed options/,
    );
    expect(() => renderStatement(template(), { group_by: "constructor" })).toThrow(/group_by must be one of/);
  });

  it("renders each call as renderStatement does when calls of one shape share a rendering", () => {
    const render = statementRenderer(template());
    const calls = [
      {},
      { region: "EAST" },
      { region: "WEST" },
      { region: "EAST", order: "asc" },
      { group_by: "product" },
      { group_by: "product", metrics: ["count"] },
      { group_by: "product", metrics: ["count", "avg"] },
      { group_by: "region", metrics: ["count", "avg"] },
      { from_date: "2026-01-01" },
      { to_date: "2026-01-01" },
      { from_date: "2026-01-01", to_date: "2026-02-01" },
      {},
    ].map(input);
    for (const args of [...calls, ...calls]) {
      const statement = renderStatement(template(), args);
      expect(render(args)).toEqual({ statement, markers: markersOf(statement) });
    }
  });

  it("checks the range of every call, also of a shape already rendered", () => {
    const render = statementRenderer(template());
    expect(render(input({ from_date: "2026-01-01", to_date: "2026-03-01" })).statement).toContain(":to_date");
    expect(() => render(input({ from_date: "2026-03-01", to_date: "2026-01-01" }))).toThrow(
      "from_date must not be after to_date.",
    );
  });

  it("refuses a range given in the wrong order, naming both ends", () => {
    expect(() => renderStatement(template(), input({ from_date: "2026-03-01", to_date: "2026-01-01" }))).toThrow(
      "from_date must not be after to_date.",
    );
    expect(renderStatement(template(), input({ from_date: "2026-01-01", to_date: "2026-01-01" }))).toContain(
      "close_date >= :from_date AND close_date <= :to_date",
    );
  });

  it("shows a multiple choice as a bounded list of its options and hides the fallback", () => {
    const { listing } = build(entry);
    expect(listing.inputSchema.properties?.metrics).toMatchObject({
      type: "array",
      minItems: 1,
      maxItems: 2,
      items: { enum: ["total", "count", "avg"] },
    });
    expect(listing.inputSchema.properties?.metrics).not.toHaveProperty("default");
    expect(listing.inputSchema.properties?.order).toMatchObject({ default: "desc" });
  });

  const choice = entry.choices[1]!;
  it.each([
    [
      "a fragment with a statement separator",
      { choices: [{ ...choice, options: { x: "1; DROP TABLE t" } }] },
      /no ';'/,
    ],
    ["a fragment with a {{place}}", { choices: [{ ...choice, options: { x: "{{table}}" } }] }, /no \{\{place\}\}/],
    ["a fragment with a :marker", { choices: [{ ...choice, options: { x: "SUM(:me)" } }] }, /no :marker/],
    ["a fallback that is no option", { choices: [{ ...choice, fallback: ["max"] }] }, /fallback must name options/],
    ["a default on a multiple choice", { choices: [{ ...choice, default: "total" }] }, /takes a fallback/],
    ["a section naming nothing", { statement: "SELECT 1 {{#colour}}x{{/colour}}" }, /\{\{#colour\}\} names no/],
    ["a section left open", { statement: "SELECT :me {{#region}}AND :region" }, /is not closed/],
    ["{{table}} without a table", { table: undefined }, /give the entry its table/],
    ["conditions without {{where}}", { statement: "SELECT :me, :region, :from_date, :to_date" }, /put \{\{where\}\}/],
    ["a range over an undeclared parameter", { ranges: [{ from: "from_date", to: "until" }] }, /until is not a decl/],
    ["a choice named like the entry's own place", { choices: [{ ...choice, name: "table" }] }, /entry's own place/],
  ])("refuses an entry with %s", (_case, change, message) => {
    expect(() => build({ ...entry, ...change })).toThrow(message);
  });
});
