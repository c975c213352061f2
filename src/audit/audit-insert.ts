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

const valueOf = (raw: unknown): string | null => (raw === undefined || raw === null ? null : String(raw));

/** One INSERT per batch, idempotent: rows whose record_id is already in the table are skipped, so replays never duplicate. */
export function buildAuditInsert(table: string, records: readonly SpooledRecord[]) {
  const parameters: { name: string; value: string | null; type: string }[] = [];
  const tuples = records.map((record, i) => {
    const names = AUDIT_COLUMNS.map(([column, type]) => {
      const name = `r${i}_${column}`;
      parameters.push({ name, value: valueOf(record[column]), type });
      return `:${name}`;
    });
    return `(${names.join(", ")})`;
  });
  const columns = AUDIT_COLUMNS.map(([c]) => c).join(", ");
  const statement = `INSERT INTO ${table} (${columns}) SELECT ${columns} FROM (VALUES ${tuples.join(", ")}) AS s(${columns}) WHERE NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.record_id = s.record_id)`;
  return { statement, parameters };
}

/** Room for what a batch's request carries besides its records: the statement's fixed text, warehouse, options. */
export const INSERT_ENVELOPE_BYTES = 8192;

/** A record's parameter names as the largest batch index would spell them, so the measure is never short. */
const WIDEST_INDEX = "r9999_";

/** What a column's parameter carries besides its value: `{"name":…,"value":…,"type":…}`, a separator, `:name, `. */
const COLUMN_OVERHEAD = new Map(
  AUDIT_COLUMNS.map(([column, type]) => {
    const name = `${WIDEST_INDEX}${column}`;
    const envelope = Buffer.byteLength(JSON.stringify({ name, value: null, type })) - carriedBytes(null);
    return [column, envelope + 1 + name.length + 3];
  }),
);

/** Bytes one column's value adds to the INSERT request: its parameter as JSON, and its name in the VALUES tuple. */
function columnInsertBytes(column: string, value: unknown): number {
  return COLUMN_OVERHEAD.get(column)! + carriedBytes(valueOf(value));
}

/**
 * Bytes one record adds to the INSERT request, serialized as it is sent (each parameter as JSON, plus its name in
 * the VALUES tuple); an upper bound whatever its place in the batch.
 */
export function recordInsertBytes(record: SpooledRecord): number {
  let bytes = 4; // "(", ")" and ", " around the tuple
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
