import type { StatementResult } from "../../src/databricks/workspace-api.js";

const NUMERIC = new Set(["INT", "LONG", "DOUBLE", "DECIMAL", "SHORT", "FLOAT", "BYTE"]);

/** JSON_ARRAY rows carry every value as a string; numeric columns become numbers so the model reads them as such. */
export function typedRows(
  columns: StatementResult["columns"],
  rows: readonly (readonly (string | null)[])[],
): (string | number | null)[][] {
  const numeric = new Set(columns.flatMap((c, i) => (NUMERIC.has(c.type_name) ? [i] : [])));
  return rows.map((r) => r.map((v, i) => (v !== null && numeric.has(i) ? Number(v) : v)));
}
