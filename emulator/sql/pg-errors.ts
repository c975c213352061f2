import { SqlError, tableNotFound } from "./sql-error.js";

/** Postgres SQLSTATE → Databricks error class; anything unlisted keeps its SQLSTATE as the class. */
const ERROR_CLASSES: Record<string, string> = {
  "42501": "INSUFFICIENT_PERMISSIONS",
  "42P01": "TABLE_OR_VIEW_NOT_FOUND",
  "3F000": "SCHEMA_NOT_FOUND",
  "42703": "UNRESOLVED_COLUMN",
  "42883": "UNRESOLVED_ROUTINE",
  "42601": "PARSE_SYNTAX_ERROR",
  "0A000": "UNSUPPORTED_FEATURE",
  "25006": "INSUFFICIENT_PERMISSIONS",
  "23505": "DELTA_DUPLICATE_KEY",
  "23502": "DELTA_NOT_NULL_CONSTRAINT_VIOLATED",
  "22012": "DIVIDE_BY_ZERO",
  "54001": "STATEMENT_TOO_COMPLEX",
};

/** Postgres type names in input-syntax errors → the Databricks type a cast targets. */
const CAST_TARGETS: Record<string, string> = {
  integer: "INT",
  bigint: "BIGINT",
  smallint: "SMALLINT",
  numeric: "DECIMAL",
  real: "FLOAT",
  "double precision": "DOUBLE",
  boolean: "BOOLEAN",
  date: "DATE",
  "timestamp with time zone": "TIMESTAMP",
  "timestamp without time zone": "TIMESTAMP_NTZ",
};

/** What the error mapping needs to know of the statement. */
export interface StatementContext {
  /** The caller, for permission messages. */
  principal: string;
  /** The one catalog, e.g. `main`. */
  catalog: string;
  /** `schema.table` names written with the catalog (see TranslatedStatement.catalogQualified). */
  catalogQualified: ReadonlySet<string>;
  /** The workspace's role prefix, which no message shows (roles read as the seed names them). */
  rolePrefix?: string;
  /** The statement's maximum run time, which a timeout message states. */
  maxRunTimeMs?: number;
}

/** `relation "sales.x" does not exist` → the name as the statement wrote it, with its catalog if it had one. */
function missingRelation(message: string, ctx: StatementContext): SqlError | undefined {
  const m = /^relation "(.+)" does not exist$/.exec(message);
  if (!m) return undefined;
  const name = m[1]!;
  return tableNotFound(ctx.catalogQualified.has(name) ? [ctx.catalog, ...name.split(".")] : name.split("."));
}

/** A malformed value cast to a type (a parameter's, or a CAST in the statement): CAST_INVALID_INPUT. */
function invalidCast(message: string): SqlError | undefined {
  const m = /^invalid input syntax for type ([a-z ]+): "(.*)"$/s.exec(message);
  if (!m) return undefined;
  const target = CAST_TARGETS[m[1]!] ?? m[1]!.toUpperCase();
  const value = m[2]!.length > 64 ? `${m[2]!.slice(0, 64)}…` : m[2]!;
  return new SqlError(
    "CAST_INVALID_INPUT",
    "22018",
    `The value '${value}' of the type "STRING" cannot be cast to "${target}" because it is malformed. ` +
      "Correct the value as per the syntax, or change its target type. Use `try_cast` to tolerate malformed input and return NULL instead.",
  );
}

/** A Postgres error as the Databricks statement error it corresponds to. */
export function mapPgError(err: unknown, ctx: StatementContext): SqlError {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? "XX000";
  const message = (e.message ?? "query failed")
    .replace(/uc_private\./g, "main.")
    .replace(/"uc_private"/g, "main")
    .split(ctx.rolePrefix || "\u0000")
    .join("");
  const errorClass = ERROR_CLASSES[code] ?? "SQL_EXECUTION_ERROR";
  if (code === "42501")
    return new SqlError(
      errorClass,
      code,
      `Insufficient privileges: User ${ctx.principal} does not have the privilege for this operation (${message}).`,
    );
  if (code === "42P01") return missingRelation(message, ctx) ?? new SqlError(errorClass, code, message);
  if (code === "22P02" || code === "22007") return invalidCast(message) ?? new SqlError(errorClass, code, message);
  if (code === "42601") {
    const near = /^syntax error at or near "(.*)"$/s.exec(message);
    if (near) return new SqlError(errorClass, code, `Syntax error at or near '${near[1]!.slice(0, 64)}'.`);
    if (message === "syntax error at end of input")
      return new SqlError(errorClass, code, "Syntax error at or near end of input.");
    return new SqlError(errorClass, code, message);
  }
  // Another catalog than the engine's one (`samples.nyctaxi.trips`) is a table that cannot be found.
  const crossCatalog = /^cross-database references are not implemented: "?([^"]+)"?$/.exec(message);
  if (code === "0A000" && crossCatalog) return tableNotFound(crossCatalog[1]!.split("."));
  const notNull = /^null value in column "(.+?)" of relation/.exec(message);
  if (code === "23502" && notNull)
    return new SqlError(errorClass, code, `NOT NULL constraint violated for column: ${notNull[1]}.`);
  if (code === "25006") return new SqlError(errorClass, code, "This statement may not modify data.");
  if (code === "57014" && /statement timeout/.test(message)) {
    const seconds = Math.round((ctx.maxRunTimeMs ?? 0) / 1000);
    return new SqlError(
      "QUERY_EXECUTION_TIMEOUT_EXCEEDED",
      "57KD0",
      `The execution of the query was cancelled due to exceeding the timeout (${seconds}s). Increase the timeout or simplify the query.`,
      "DEADLINE_EXCEEDED",
    );
  }
  if (code === "57014") return new SqlError("OPERATION_CANCELED", "HY008", "The statement was cancelled.", "CANCELLED");
  if (code === "54001" || code === "53200") return new SqlError(errorClass, code, message, "RESOURCE_EXHAUSTED");
  // The embedded engine loses its prepared statement when parsing exhausts its stack (very long expressions).
  if (code === "26000")
    return new SqlError(
      "STATEMENT_TOO_COMPLEX",
      "54001",
      "The statement is too long or too deeply nested to execute.",
      "RESOURCE_EXHAUSTED",
    );
  // Errors that come from the engine rather than from the statement say nothing about its internals.
  if (code.startsWith("XX") || code === "08P01")
    return new SqlError("INTERNAL_ERROR", code, "The statement could not be executed.", "INTERNAL_ERROR");
  return new SqlError(errorClass, code, message);
}
