import pg from "pg";

const types = pg.types.builtins;

/** A result column as the Statement Execution API describes it (ColumnInfo). */
export interface SqlColumn {
  name: string;
  position: number;
  type_name: string;
  type_text: string;
  type_precision?: number;
  type_scale?: number;
}

/** How one Postgres type reads in Databricks. */
interface DatabricksType {
  /** ColumnInfoTypeName, e.g. LONG. */
  typeName: string;
  /** The SQL type name, e.g. BIGINT: `type_text` and information_schema's `data_type`. */
  sqlName: string;
  /** For integral types, FLOAT and DOUBLE: the bits information_schema reports as `numeric_precision`. */
  bits?: number;
  integral?: boolean;
  /** information_schema's `datetime_precision`. */
  datetimePrecision?: number;
}

const STRING: DatabricksType = { typeName: "STRING", sqlName: "STRING" };
const TIMESTAMP: DatabricksType = { typeName: "TIMESTAMP", sqlName: "TIMESTAMP", datetimePrecision: 3 };

/** Postgres type oid → Databricks type; any other type reads as STRING. */
const BY_OID: Record<number, DatabricksType> = {
  [types.TEXT]: STRING,
  [types.VARCHAR]: STRING,
  [types.BPCHAR]: STRING,
  [types.INT2]: { typeName: "SHORT", sqlName: "SMALLINT", bits: 16, integral: true },
  [types.INT4]: { typeName: "INT", sqlName: "INT", bits: 32, integral: true },
  [types.INT8]: { typeName: "LONG", sqlName: "BIGINT", bits: 64, integral: true },
  [types.FLOAT4]: { typeName: "FLOAT", sqlName: "FLOAT", bits: 24 },
  [types.FLOAT8]: { typeName: "DOUBLE", sqlName: "DOUBLE", bits: 53 },
  [types.NUMERIC]: { typeName: "DECIMAL", sqlName: "DECIMAL" },
  [types.BOOL]: { typeName: "BOOLEAN", sqlName: "BOOLEAN" },
  [types.DATE]: { typeName: "DATE", sqlName: "DATE", datetimePrecision: 0 },
  [types.TIMESTAMP]: TIMESTAMP,
  [types.TIMESTAMPTZ]: TIMESTAMP,
  [types.BYTEA]: { typeName: "BINARY", sqlName: "BINARY" },
};

/** Databricks' widest decimal; an unconstrained Postgres numeric reports it. */
const MAX_PRECISION = 38;

/** Precision and scale of a `numeric(p,s)` type modifier (Postgres stores ((p << 16) | s) + 4). */
export function decimalOf(typmod: number): { precision: number; scale: number } | undefined {
  if (typmod < 4) return undefined;
  return { precision: ((typmod - 4) >> 16) & 0xffff, scale: (typmod - 4) & 0xffff };
}

/** Digits after the point in a decimal's text, e.g. 2 for "-12.50". */
function scaleOfText(value: string | null): number {
  const point = value?.indexOf(".") ?? -1;
  return point === -1 ? 0 : value!.length - point - 1;
}

/**
 * ColumnInfo of a result column. A numeric without a declared precision (an aggregate, an expression) reports
 * DECIMAL(38,s) with s the widest scale among its values, since Postgres does not derive one.
 */
export function columnInfo(
  name: string,
  position: number,
  oid: number,
  typmod: number,
  values: () => (string | null)[],
): SqlColumn {
  const t = BY_OID[oid] ?? STRING;
  if (t.typeName !== "DECIMAL") return { name, position, type_name: t.typeName, type_text: t.sqlName };
  const declared = decimalOf(typmod);
  const precision = declared?.precision ?? MAX_PRECISION;
  const scale = declared?.scale ?? Math.min(MAX_PRECISION, Math.max(0, ...values().map(scaleOfText)));
  return {
    name,
    position,
    type_name: "DECIMAL",
    type_text: `DECIMAL(${precision},${scale})`,
    type_precision: precision,
    type_scale: scale,
  };
}

/** A SQL CASE over a type oid column, one branch per known type, `fallback` for the rest. */
function caseOf(oid: string, branch: (t: DatabricksType) => string | undefined, fallback: string): string {
  const branches = Object.entries(BY_OID)
    .map(([o, t]) => [o, branch(t)] as const)
    .filter(([, v]) => v !== undefined)
    .map(([o, v]) => `WHEN ${o} THEN ${v}`);
  return `CASE ${oid} ${branches.join(" ")} ELSE ${fallback} END`;
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * SQL expressions that describe a column of type (`oid`, `typmod`) as Databricks' information_schema and DESCRIBE do:
 * `dataType` DECIMAL, `fullDataType` decimal(12,2), and the numeric and datetime details.
 */
export function typeExpressions(oid: string, typmod: string) {
  const declared = `CASE WHEN ${typmod} >= 4 THEN 'decimal(' || ((${typmod} - 4) >> 16) || ',' || ((${typmod} - 4) & 65535) || ')' ELSE 'decimal(${MAX_PRECISION},18)' END`;
  return {
    dataType: caseOf(oid, (t) => lit(t.sqlName), "'STRING'"),
    fullDataType: caseOf(oid, (t) => (t.typeName === "DECIMAL" ? declared : lit(t.sqlName.toLowerCase())), "'string'"),
    numericPrecision: caseOf(
      oid,
      (t) =>
        t.typeName === "DECIMAL"
          ? `CASE WHEN ${typmod} >= 4 THEN (${typmod} - 4) >> 16 ELSE ${MAX_PRECISION} END`
          : t.bits?.toString(),
      "NULL",
    ),
    numericPrecisionRadix: caseOf(
      oid,
      (t) => (t.typeName === "DECIMAL" ? "10" : t.bits !== undefined ? "2" : undefined),
      "NULL",
    ),
    numericScale: caseOf(
      oid,
      (t) =>
        t.typeName === "DECIMAL"
          ? `CASE WHEN ${typmod} >= 4 THEN (${typmod} - 4) & 65535 ELSE 18 END`
          : t.integral
            ? "0"
            : undefined,
      "NULL",
    ),
    datetimePrecision: caseOf(oid, (t) => t.datetimePrecision?.toString(), "NULL"),
  };
}
