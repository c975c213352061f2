import type { SqlColumn } from "./databricks-types.js";

type Arrow = typeof import("apache-arrow");

let loading: Promise<Arrow | undefined> | undefined;

/**
 * The Apache Arrow library, loaded on first use: it is a development dependency, so an installation without it
 * answers ARROW_STREAM requests with an unsupported-format error instead of failing to start.
 */
export function arrowLibrary(): Promise<Arrow | undefined> {
  loading ??= import("apache-arrow").then(
    (arrow) => arrow,
    () => undefined,
  );
  return loading;
}

/** A decimal's text at `scale` as the four little-endian 32-bit words of a 128-bit two's complement integer. */
function decimalWords(text: string, scale: number): Uint32Array {
  const negative = text.startsWith("-");
  const [whole = "0", fraction = ""] = text.replace(/^[-+]/, "").split(".");
  const digits = BigInt(whole + fraction.padEnd(scale, "0").slice(0, scale));
  const value = BigInt.asUintN(128, negative ? -digits : digits);
  return Uint32Array.from({ length: 4 }, (_, i) => Number((value >> BigInt(32 * i)) & 0xffffffffn));
}

/** One column's values as an Arrow vector of the type Databricks streams for it. */
function vectorOf(arrow: Arrow, column: SqlColumn, values: (string | null)[]) {
  const mapped = <T>(f: (v: string) => T) => values.map((v) => (v === null ? null : f(v)));
  switch (column.type_name) {
    case "SHORT":
      return arrow.vectorFromArray(mapped(Number), new arrow.Int16());
    case "INT":
      return arrow.vectorFromArray(mapped(Number), new arrow.Int32());
    case "LONG":
      return arrow.vectorFromArray(mapped(BigInt), new arrow.Int64());
    case "FLOAT":
      return arrow.vectorFromArray(mapped(Number), new arrow.Float32());
    case "DOUBLE":
      return arrow.vectorFromArray(mapped(Number), new arrow.Float64());
    case "BOOLEAN":
      return arrow.vectorFromArray(
        mapped((v) => v === "true"),
        new arrow.Bool(),
      );
    case "DATE":
      return arrow.vectorFromArray(
        mapped((v) => new Date(`${v}T00:00:00Z`)),
        new arrow.DateDay(),
      );
    case "TIMESTAMP":
      return arrow.vectorFromArray(
        mapped((v) => new Date(v)),
        new arrow.TimestampMicrosecond("Etc/UTC"),
      );
    case "DECIMAL": {
      const precision = column.type_precision ?? 38;
      const scale = column.type_scale ?? 0;
      return arrow.vectorFromArray(
        mapped((v) => decimalWords(v, scale)) as unknown as (bigint | null)[],
        new arrow.Decimal(scale, precision, 128),
      );
    }
    default:
      return arrow.vectorFromArray(values, new arrow.Utf8());
  }
}

/** Rows of one result chunk in the Arrow IPC streaming format, typed per column (DECIMAL as decimal128, …). */
export async function arrowStream(columns: SqlColumn[], rows: (string | null)[][]): Promise<Uint8Array> {
  const arrow = await arrowLibrary();
  if (!arrow) throw new Error("Apache Arrow is not installed.");
  const vectors = columns.map((column, i) =>
    vectorOf(
      arrow,
      column,
      rows.map((r) => r[i]!),
    ),
  );
  // A schema of its own rather than a name → vector map: result columns may share a name.
  const fields = columns.map((column, i) => new arrow.Field(column.name, vectors[i]!.type, true));
  const children = vectors.map((v) => (v.data.length === 1 ? v.data[0]! : arrow.makeVector(v.toArray()).data[0]!));
  const data = arrow.makeData({ type: new arrow.Struct(fields), length: rows.length, nullCount: 0, children });
  const batch = new arrow.RecordBatch(new arrow.Schema(fields), data);
  return arrow.tableToIPC(new arrow.Table(batch), "stream");
}
