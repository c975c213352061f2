import type { SqlResult } from "../sql/engine.js";

/** A Genie query run, rendered as the SQL Statement Execution API's StatementResponse. */
export interface QueryRunView {
  statementId: string;
  state: "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELED" | "CLOSED";
  result?: SqlResult;
  truncated?: boolean;
  error?: { errorCode: string; message: string; sqlState?: string };
}

/** `{statement_id, status, manifest, result}` with INLINE JSON_ARRAY data in one chunk, as the SQL API answers. */
export function toStatementResponse(run: QueryRunView): Record<string, unknown> {
  const status: Record<string, unknown> = { state: run.state };
  if (run.state === "FAILED" && run.error) {
    status.error = { error_code: run.error.errorCode, message: run.error.message };
    if (run.error.sqlState) status.sql_state = run.error.sqlState;
  }
  const response: Record<string, unknown> = { statement_id: run.statementId, status };
  if (run.state !== "SUCCEEDED" || !run.result) return response;

  const { columns, rows } = run.result;
  response.manifest = {
    format: "JSON_ARRAY",
    schema: {
      column_count: columns.length,
      columns: columns.map((c) => ({
        name: c.name,
        position: c.position,
        type_name: c.type_name,
        type_text: c.type_text,
        ...(c.type_precision !== undefined ? { type_precision: c.type_precision, type_scale: c.type_scale } : {}),
      })),
    },
    total_chunk_count: 1,
    chunks: [{ chunk_index: 0, row_offset: 0, row_count: rows.length }],
    total_row_count: rows.length,
    truncated: run.truncated ?? false,
  };
  response.result = { chunk_index: 0, row_offset: 0, row_count: rows.length, data_array: rows };
  return response;
}
