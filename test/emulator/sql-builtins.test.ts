import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDeals, type DealRow } from "../../emulator/sql/deals.js";
import type { LocalWorkspace } from "../../emulator/workspace.js";
import { startSqlWorkspace } from "../support/sql-workspace.js";

// Databricks built-ins in the SQL an agent or Genie writes, evaluated by the engine as the caller: the values are
// Databricks' (unit-first date_trunc, Spark datetime patterns, half-up rounding, NULL on division by zero), and
// nothing about them reaches past the row filter or the column mask.

type Cell = string | null;

let workspace: LocalWorkspace;
let warehouseId: string;
let execToken: string;
let westToken: string;
let deals: DealRow[];

/** The rows of a statement that must succeed. */
async function rows(statement: string, token = execToken): Promise<Cell[][]> {
  const res = await fetch(`${workspace.baseUrl}/api/2.0/sql/statements`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ warehouse_id: warehouseId, statement, wait_timeout: "30s" }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a statement response, probed field by field
  const json = (await res.json()) as any;
  if (json.status?.state !== "SUCCEEDED") throw new Error(`${statement}: ${JSON.stringify(json.status ?? json)}`);
  return json.result.data_array as Cell[][];
}

/** Deal counts per key, as sorted [key, count] rows the way the engine prints them. */
function countBy(list: DealRow[], key: (d: DealRow) => string): Cell[][] {
  const counts = new Map<string, number>();
  for (const d of list) counts.set(key(d), (counts.get(key(d)) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => [k, String(n)]);
}

beforeAll(async () => {
  ({ workspace, warehouseId, execToken, westToken } = await startSqlWorkspace());
  deals = generateDeals(workspace.context.seed);
}, 60_000);

afterAll(async () => {
  await workspace?.close();
});

describe("date built-ins", () => {
  it("year, quarter and month of a DATE column group the deals as their close dates say", async () => {
    expect(
      await rows("SELECT year(close_date) AS y, count(*) FROM main.sales.deals GROUP BY year(close_date) ORDER BY 1"),
    ).toEqual(countBy(deals, (d) => d.close_date.slice(0, 4)));
    expect(
      await rows(
        "SELECT concat_ws('-Q', year(close_date), quarter(close_date)), count(*) FROM main.sales.deals GROUP BY 1 ORDER BY 1",
      ),
    ).toEqual(countBy(deals, (d) => d.quarter));
    expect(
      await rows("SELECT month(close_date), count(*) FROM main.sales.deals GROUP BY 1 ORDER BY month(close_date)"),
    ).toEqual(
      countBy(deals, (d) => String(Number(d.close_date.slice(5, 7)))).sort((a, b) => Number(a[0]) - Number(b[0])),
    );
  });

  it("date_format takes Spark patterns: yyyy-MM, literals in quotes, day and month names", async () => {
    expect(
      await rows("SELECT date_format(close_date, 'yyyy-MM'), count(*) FROM main.sales.deals GROUP BY 1 ORDER BY 1"),
    ).toEqual(countBy(deals, (d) => d.close_date.slice(0, 7)));
    expect(
      await rows(
        "SELECT date_format(TIMESTAMP '2026-03-04 05:06:07.891', 'yyyy-MM-dd HH:mm:ss.SSS'), date_format(DATE '2026-03-04', 'd/M/yy'), date_format(DATE '2026-03-04', 'EEE, MMM d ''at'' yyyy')",
      ),
    ).toEqual([["2026-03-04 05:06:07.891", "4/3/26", "Wed, Mar 4 at 2026"]]);
  });

  it("date_trunc takes the unit first, in Databricks' spellings (MONTH, MM, YYYY), and returns a TIMESTAMP", async () => {
    expect(
      await rows(
        "SELECT date_trunc('MONTH', DATE '2026-03-17'), date_trunc('MM', TIMESTAMP '2026-03-17 10:11:12'), date_trunc('YYYY', DATE '2026-03-17'), date_trunc('QUARTER', DATE '2026-05-17'), date_trunc('fortnight', DATE '2026-05-17')",
      ),
    ).toEqual([
      [
        "2026-03-01T00:00:00.000Z",
        "2026-03-01T00:00:00.000Z",
        "2026-01-01T00:00:00.000Z",
        "2026-04-01T00:00:00.000Z",
        null,
      ],
    ]);
    expect(
      await rows(
        "SELECT date_trunc('MONTH', close_date) AS m, count(*) FROM main.sales.deals GROUP BY 1 ORDER BY 1 LIMIT 1",
      ),
    ).toEqual([
      [
        `${[...deals].sort((a, b) => (a.close_date < b.close_date ? -1 : 1))[0]!.close_date.slice(0, 7)}-01T00:00:00.000Z`,
        expect.any(String),
      ],
    ]);
  });

  it("current_date() and current_timestamp() take Databricks' empty parentheses; to_date parses a Spark pattern", async () => {
    const [[today, now, parsed]] = (await rows(
      "SELECT current_date(), current_timestamp(), to_date('17/03/2026', 'dd/MM/yyyy')",
    )) as [[string, string, string]];
    expect(today).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(now).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(parsed).toBe("2026-03-17");
  });
});

describe("null handling, strings and arithmetic", () => {
  it("ifnull, nvl, nvl2 and coalesce", async () => {
    expect(
      await rows(
        "SELECT ifnull(NULL, 'x'), nvl(NULL, 2), nvl(1.5, 2), nvl2(NULL, 'set', 'unset'), nvl2(0, 'set', 'unset'), coalesce(NULL, NULL, 'z')",
      ),
    ).toEqual([["x", "2", "1.5", "unset", "set", "z"]]);
  });

  it("concat_ws joins with a separator and skips NULLs", async () => {
    expect(await rows("SELECT concat_ws(' / ', 'a', NULL, 'b', 'c')")).toEqual([["a / b / c"]]);
  });

  it("round rounds half away from zero for decimals and doubles alike", async () => {
    expect(
      await rows(
        "SELECT round(2.5), round(-2.5), round(CAST(2.5 AS DOUBLE)), round(CAST(0.125 AS DOUBLE), 2), round(1234.5678, 2), round(1250, -2)",
      ),
    ).toEqual([["3", "-3", "3", "0.13", "1234.57", "1300"]]);
  });

  it("try_divide answers NULL for division by zero, and a DOUBLE for integers", async () => {
    expect(
      await rows("SELECT try_divide(10, 4), try_divide(10, 0), try_divide(amount, 0) FROM main.sales.deals LIMIT 1"),
    ).toEqual([["2.5", null, null]]);
  });

  it("CAST and :: take Databricks type names (STRING, DOUBLE, LONG); an alias named like one stays an alias", async () => {
    expect(
      await rows(
        "SELECT CAST(7 AS STRING), CAST('2.5' AS DOUBLE), CAST('7' AS LONG), 3::string, CAST(1 AS DOUBLE PRECISION), 'x' AS string",
      ),
    ).toEqual([["7", "2.5", "7", "3", "1", "x"]]);
  });

  it("a column or field that shares a built-in's name is left alone: quarter, EXTRACT(year FROM …), t.year", async () => {
    expect(
      await rows(
        "SELECT quarter, EXTRACT(year FROM close_date)::int AS year FROM main.sales.deals WHERE deal_id = 'D-000001'",
      ),
    ).toEqual([[deals[0]!.quarter, deals[0]!.close_date.slice(0, 4)]]);
    expect(await rows("SELECT t.year FROM (SELECT 7 AS year) t")).toEqual([["7"]]);
  });
});

describe("built-ins are governed like any SQL", () => {
  it("the west role grouping by year(close_date) counts only WEST deals", async () => {
    expect(
      await rows("SELECT year(close_date), count(*) FROM main.sales.deals GROUP BY 1 ORDER BY 1", westToken),
    ).toEqual(
      countBy(
        deals.filter((d) => d.region === "WEST"),
        (d) => d.close_date.slice(0, 4),
      ),
    );
  });

  it("the column mask applies before ifnull: the west role sees only the fallback, the executive real margins", async () => {
    expect(
      await rows(
        "SELECT count(*), count(*) FILTER (WHERE ifnull(margin_pct, -1) = -1) FROM main.sales.deals",
        westToken,
      ),
    ).toEqual([
      [
        String(deals.filter((d) => d.region === "WEST").length),
        String(deals.filter((d) => d.region === "WEST").length),
      ],
    ]);
    const [[masked]] = (await rows(
      "SELECT count(*) FILTER (WHERE nvl(margin_pct, -1) = -1) FROM main.sales.deals",
    )) as [[string]];
    expect(masked).toBe("0");
  });

  it("callers may execute the built-ins but not create, replace or alter them", async () => {
    expect(
      await rows(
        `SELECT has_schema_privilege('builtin', 'CREATE'), has_schema_privilege('builtin', 'USAGE'),
           bool_or(pg_has_role(current_user, p.proowner, 'USAGE')), bool_and(has_function_privilege(p.oid, 'EXECUTE'))
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'builtin'`,
        westToken,
      ),
    ).toEqual([["false", "true", "false", "true"]]);
  });
});
