import { arrowLibrary, arrowStream } from "./arrow-stream.js";
import type { SqlColumn } from "./databricks-types.js";

/** The result formats of the Statement Execution API. */
export type ResultFormat = "JSON_ARRAY" | "ARROW_STREAM" | "CSV";
export const RESULT_FORMATS: readonly ResultFormat[] = ["JSON_ARRAY", "ARROW_STREAM", "CSV"];

/** One result chunk encoded for an external link. */
export interface EncodedChunk {
  bytes: Uint8Array;
  contentType: string;
}

/** Whether this installation can encode `format` (ARROW_STREAM needs the Arrow library). */
export async function formatAvailable(format: ResultFormat): Promise<boolean> {
  return format !== "ARROW_STREAM" || (await arrowLibrary()) !== undefined;
}

/** RFC 4180 field: quoted when it holds a comma, a quote or a line break. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * A chunk's rows in `format`: compact JSON arrays of strings; CSV (RFC 4180) with the header in the first chunk
 * only and NULL written `null`, as Databricks writes it; or an Arrow IPC stream.
 */
export async function encodeChunk(
  format: ResultFormat,
  columns: SqlColumn[],
  rows: (string | null)[][],
  first: boolean,
): Promise<EncodedChunk> {
  if (format === "ARROW_STREAM")
    return { bytes: await arrowStream(columns, rows), contentType: "application/vnd.apache.arrow.stream" };
  if (format === "CSV") {
    const lines = rows.map((row) => row.map((v) => (v === null ? "null" : csvField(v))).join(","));
    if (first) lines.unshift(columns.map((c) => csvField(c.name)).join(","));
    const text = lines.map((line) => `${line}\r\n`).join("");
    return { bytes: new TextEncoder().encode(text), contentType: "text/csv" };
  }
  return { bytes: new TextEncoder().encode(JSON.stringify(rows)), contentType: "application/json" };
}
