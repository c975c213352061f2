import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { textTable } from "../../../tools/kinds/render.js";

/** A cell as the table has always shown it: whitespace runs as one space, at most 40 characters. */
const shown = (v: unknown) => (v === null || v === undefined ? "NULL" : String(v)).replace(/\s+/g, " ").slice(0, 40);

describe("the text table", () => {
  it("shows every cell with its whitespace runs as one space, cut at 40 characters", () => {
    const cell = fc.oneof(
      fc.string({ unit: fc.constantFrom("a", "b", " ", "\t", "\n", "\u00a0", "\u2028", "é"), maxLength: 60 }),
      fc.double(),
      fc.constant(null),
    );
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 2, maxLength: 2 }), { maxLength: 5 }), (rows) => {
        const lines = textTable(["a", "b"], rows).split("\n").slice(2);
        expect(lines).toEqual(rows.map((r) => r.map(shown).join(" | ")));
      }),
    );
  });

  it("adds only ASCII of its own: a table of ASCII cells, cut rows included, is ASCII", () => {
    const rows = Array.from({ length: 34 }, (_, i) => [`D-${i}`, 1234.5 - i, null]);
    const text = textTable(["deal_id", "amount", "owner"], rows);
    expect(text.split("\n").at(-1)).toBe("... 14 more rows in structuredContent");
    expect([...text].every((c) => c.charCodeAt(0) < 0x80)).toBe(true);
  });
});
