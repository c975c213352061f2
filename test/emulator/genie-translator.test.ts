import { describe, expect, it } from "vitest";
import {
  GENIE_QUESTION_SHAPES,
  buildQuery,
  parseQuestion,
  translateQuestion,
  type QuestionIntent,
  type TranslatedQuery,
} from "../../emulator/genie/translator.js";

const TABLE = "main.sales.deals";

function query(question: string, previous?: QuestionIntent): TranslatedQuery {
  const t = translateQuestion(question, TABLE, previous);
  if (t.kind !== "query") throw new Error(`expected a query for ${JSON.stringify(question)}`);
  return t.query;
}

function params(q: TranslatedQuery): Record<string, string | null> {
  return Object.fromEntries(q.parameters.map((p) => [p.name, p.value]));
}

describe("local Genie question shapes", () => {
  it.each(["region", "quarter", "product", "account", "owner"])(
    "'total amount by %s' groups the sum of amount by that column",
    (word) => {
      const q = query(`What is the total amount by ${word}?`);
      const column = word === "owner" ? "owner_email" : word;
      expect(q.sql).toBe(
        `SELECT ${column}, SUM(amount) AS total_amount FROM main.sales.deals GROUP BY ${column} ORDER BY total_amount DESC`,
      );
      expect(q.parameters).toEqual([]);
      expect(q.intent).toMatchObject({ shape: "total_by", groupBy: word });
    },
  );

  it("'average margin by region' averages margin_pct per region", () => {
    const q = query("average margin by region");
    expect(q.sql).toContain("AVG(margin_pct) AS average_margin_pct");
    expect(q.sql).toContain("GROUP BY region");
  });

  it("'top N deals in REGION in QUARTER' binds region, quarter and N as parameters", () => {
    const q = query("Show me the TOP 5 deals in west in 2026-Q1");
    expect(q.sql).toBe(
      "SELECT deal_id, account, region, owner_email, product, amount, margin_pct, quarter, close_date FROM main.sales.deals WHERE region = :region AND quarter = :quarter ORDER BY amount DESC, deal_id LIMIT :limit",
    );
    expect(params(q)).toEqual({ region: "WEST", quarter: "2026-Q1", limit: "5" });
  });

  it("'top N deals' outside 1..100 is not understood", () => {
    expect(translateQuestion("top 0 deals", TABLE).kind).toBe("text");
    expect(translateQuestion("top 500 deals", TABLE).kind).toBe("text");
  });

  it("'how many deals [in REGION]' counts deals", () => {
    expect(query("How many deals?").sql).toBe("SELECT COUNT(*) AS deal_count FROM main.sales.deals");
    const q = query("how many deals in Central");
    expect(q.sql).toBe("SELECT COUNT(*) AS deal_count FROM main.sales.deals WHERE region = :region");
    expect(params(q)).toEqual({ region: "CENTRAL" });
  });

  it("'deals for account X' binds the account name", () => {
    const q = query("Deals for account Acme Corp?");
    expect(q.sql).toContain("WHERE account = :account");
    expect(params(q)).toEqual({ account: "Acme Corp" });
  });

  it("'total amount in QUARTER' accepts 2026-Q2, 2026 Q2 and Q2 2026", () => {
    for (const text of ["total amount in 2026-Q2", "Total amount in 2026 q2", "total amount in Q2 2026"]) {
      const q = query(text);
      expect(q.sql).toBe("SELECT SUM(amount) AS total_amount FROM main.sales.deals WHERE quarter = :quarter");
      expect(params(q)).toEqual({ quarter: "2026-Q2" });
    }
  });

  it("every documented example translates to its own shape", () => {
    for (const shape of GENIE_QUESTION_SHAPES.filter((s) => s.id !== "follow_up")) {
      expect(parseQuestion(shape.example)?.shape, shape.example).toBe(shape.id);
    }
  });

  it("quotes and semicolons in a question end up only in parameters, never in the SQL text", () => {
    const hostile = `x'; DROP TABLE main.sales.deals; -- "`;
    const q = query(`deals for account ${hostile}`);
    expect(q.sql).not.toContain("DROP");
    expect(q.sql).not.toContain("'");
    expect(q.sql).not.toContain(";");
    expect(params(q).account).toBe(`x'; DROP TABLE main.sales.deals; -- "`);
  });

  it("a quoted account name loses only its surrounding quotes", () => {
    expect(params(query(`deals for account "O'Brien & Sons"`)).account).toBe("O'Brien & Sons");
  });

  it("an untranslatable question is answered with the list of understood shapes", () => {
    const t = translateQuestion("What is the meaning of life?", TABLE);
    expect(t.kind).toBe("text");
    if (t.kind === "text") for (const shape of GENIE_QUESTION_SHAPES) expect(t.content).toContain(shape.pattern);
  });

  it("a follow-up 'only WEST' re-runs the previous shape with a region filter", () => {
    const first = query("total amount by quarter");
    const second = query("only WEST", first.intent);
    expect(second.intent).toMatchObject({ shape: "total_by", groupBy: "quarter", filters: { region: "WEST" } });
    expect(params(second)).toEqual({ region: "WEST" });
    const third = query("and in 2026-Q2?", second.intent);
    expect(params(third)).toEqual({ region: "WEST", quarter: "2026-Q2" });
    const fourth = query("what about east", third.intent);
    expect(params(fourth)).toEqual({ region: "EAST", quarter: "2026-Q2" });
  });

  it("a follow-up with anything beyond a filter is not treated as a refinement", () => {
    const first = query("how many deals");
    expect(translateQuestion("only WEST; DROP TABLE x", TABLE, first.intent).kind).toBe("text");
    expect(translateQuestion("only WEST", TABLE).kind).toBe("text");
  });

  it("the table name must be a plain identifier because it is placed in SQL text", () => {
    expect(() => buildQuery({ shape: "count_deals", filters: {} }, "main.sales.deals; DROP")).toThrow();
  });
});
