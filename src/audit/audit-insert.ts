import { carriedBytes } from "./record-bounds.js";
import type { SpooledRecord } from "./spool.js";

export const AUDIT_COLUMNS: readonly (readonly [string, string])[] = [
  ["record_id", "STRING"],
  ["event_time", "TIMESTAMP"],
  ["request_id", "STRING"],
  ["mode", "STRING"],
  ["credential_source", "STRING"],
  ["human", "STRING"],
  ["workspace_principal", "STRING"],
  ["role", "STRING"],
  ["tool", "STRING"],
  ["arguments", "STRING"],
  ["outcome", "STRING"],
  ["error_code", "STRING"],
  ["rows_returned", "INT"],
  ["latency_ms", "INT"],
  ["statement_ids", "STRING"],
];

/** The one parameter an audit INSERT binds: its batch of records, as a JSON array of objects. */
export const RECORDS_PARAMETER = "records";

const COLUMN_LIST = AUDIT_COLUMNS.map(([c]) => c).join(", ");

/** The batch's shape for `from_json`: an array of structs with the table's columns and types. */
const RECORDS_SCHEMA = `ARRAY<STRUCT<${AUDIT_COLUMNS.map(([c, t]) => `${c}: ${t}`).join(", ")}>>`;

const text = (raw: unknown): string | null => (raw === undefined || raw === null ? null : String(raw));

/** An INT column's value as `from_json` reads one: a JSON number (a string there would read as null). */
const whole = (raw: unknown): number | null => {
  const n = typeof raw === "number" ? raw : raw === undefined || raw === null ? Number.NaN : Number(raw);
  return Number.isSafeInteger(n) ? n : null;
};

const VALUE_OF = new Map(AUDIT_COLUMNS.map(([column, type]) => [column, type === "INT" ? whole : text]));

/** A record as one element of the batch's JSON array: every column, in the table's order. */
function recordJson(record: SpooledRecord): string {
  const row: Record<string, string | number | null> = {};
  for (const [column, value] of VALUE_OF) row[column] = value(record[column]);
  return JSON.stringify(row);
}

const statements = new Map<string, string>();

/**
 * One INSERT per batch, idempotent: rows whose record_id is already in the table are skipped, so replays never
 * duplicate. The whole batch is one STRING parameter read by `from_json`, so a batch binds one parameter whatever
 * its size (Databricks' SQL connectors cap a statement at 256), and the statement's text is the same for every batch.
 */
export function buildAuditInsert(table: string, records: readonly SpooledRecord[]) {
  let statement = statements.get(table);
  if (statement === undefined)
    statements.set(
      table,
      (statement =
        `INSERT INTO ${table} (${COLUMN_LIST}) SELECT ${COLUMN_LIST} ` +
        `FROM inline(from_json(:${RECORDS_PARAMETER}, '${RECORDS_SCHEMA}')) AS s ` +
        `WHERE NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.record_id = s.record_id)`),
    );
  const value = `[${records.map(recordJson).join(",")}]`;
  return { statement, parameters: [{ name: RECORDS_PARAMETER, value, type: "STRING" }] };
}

/** Room for what a batch's request carries besides its records: the statement's text, warehouse, options. */
export const INSERT_ENVELOPE_BYTES = 8192;

/**
 * What a column adds besides its value: its key, `\"name\":`, as the parameter's JSON string carries it, and the comma
 * after it (the last column's comma stands for the one between two records).
 */
const COLUMN_OVERHEAD = new Map(AUDIT_COLUMNS.map(([column]) => [column, column.length + 6]));

/** Bytes one column's value adds to the INSERT request, as the parameter's JSON string carries it. */
function columnInsertBytes(column: string, value: unknown): number {
  return COLUMN_OVERHEAD.get(column)! + carriedBytes(text(value));
}

/**
 * Bytes one record adds to the INSERT request, serialized as it is sent (an object in the batch's JSON array, itself
 * carried as a JSON string); an upper bound whatever its place in the batch.
 */
export function recordInsertBytes(record: SpooledRecord): number {
  let bytes = 2; // "{" and "}"
  for (const [column] of AUDIT_COLUMNS) bytes += columnInsertBytes(column, record[column]);
  return bytes;
}

/** The part of `recordInsertBytes` that the given columns' values make up. */
export function columnsInsertBytes(record: SpooledRecord, columns: ReadonlySet<string>): number {
  let bytes = 0;
  for (const [column] of AUDIT_COLUMNS) if (columns.has(column)) bytes += columnInsertBytes(column, record[column]);
  return bytes;
}

const measured = new WeakMap<SpooledRecord, number>();

/** Records a record's `recordInsertBytes` already known, so cutting a batch does not measure it again. */
export function rememberInsertBytes(record: SpooledRecord, bytes: number): void {
  measured.set(record, bytes);
}

function costOf(record: SpooledRecord): number {
  let bytes = measured.get(record);
  if (bytes === undefined) measured.set(record, (bytes = recordInsertBytes(record)));
  return bytes;
}

/**
 * The oldest records that fit one INSERT: at most `maxRecords`, and at most `maxBytes` for the whole request. A
 * record larger than that on its own is still sent alone (the workspace then decides), so nothing is skipped.
 */
export function cutBatch(pending: Iterable<SpooledRecord>, maxRecords: number, maxBytes: number): SpooledRecord[] {
  const batch: SpooledRecord[] = [];
  let bytes = INSERT_ENVELOPE_BYTES;
  for (const record of pending) {
    if (batch.length >= maxRecords) break;
    const cost = costOf(record);
    if (batch.length > 0 && bytes + cost > maxBytes) break;
    batch.push(record);
    bytes += cost;
  }
  return batch;
}
