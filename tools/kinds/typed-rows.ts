import type { StatementResult } from "../../src/databricks/workspace-api.js";

const NUMERIC = new Set(["INT", "LONG", "DOUBLE", "DECIMAL", "SHORT", "FLOAT", "BYTE"]);

/** JSON_ARRAY rows carry every value as a string; numeric columns become numbers so the model reads them as such. */
export function typedRows(
  columns: StatementResult["columns"],
  rows: readonly (readonly (string | null)[])[],
): (string | number | null)[][] {
  const numeric = columns.flatMap((c, i) => (NUMERIC.has(c.type_name) ? [i] : []));
  // A copy of each row with its numeric cells converted: only those cells are visited.
  return rows.map((row) => {
    const typed: (string | number | null)[] = row.slice();
    for (const i of numeric) if (typed[i] != null) typed[i] = Number(typed[i]);
    return typed;
  });
}
