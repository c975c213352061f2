/** Databricks `ServiceErrorCode`: what `status.error.error_code` of a failed statement may hold. */
export type ServiceErrorCode =
  "BAD_REQUEST" | "CANCELLED" | "DEADLINE_EXCEEDED" | "INTERNAL_ERROR" | "RESOURCE_EXHAUSTED";

/**
 * A failed statement as Databricks reports it: a service error code, and a message that starts with the error
 * class (`[INSUFFICIENT_PERMISSIONS] …`) and ends with the SQLSTATE.
 */
export class SqlError extends Error {
  readonly errorCode: ServiceErrorCode;
  constructor(
    readonly errorClass: string,
    readonly sqlState: string,
    detail: string,
    errorCode: ServiceErrorCode = "BAD_REQUEST",
  ) {
    super(`[${errorClass}] ${detail} SQLSTATE: ${sqlState}`);
    this.name = "SqlError";
    this.errorCode = errorCode;
  }
}

/** `a`.`b`.`c`: a multi-part name as Databricks error messages quote it. */
export function quotedName(parts: string[]): string {
  return parts.map((p) => `\`${p.slice(0, 128).replace(/`/g, "``")}\``).join(".");
}

/** Databricks' wording of a relation that does not exist (or that the caller cannot see). */
export function tableNotFound(parts: string[]): SqlError {
  return new SqlError(
    "TABLE_OR_VIEW_NOT_FOUND",
    "42P01",
    `The table or view ${quotedName(parts)} cannot be found. Verify the spelling and correctness of the schema and catalog. ` +
      "If you did not qualify the name with a schema, verify the current_schema() output, or qualify the name with the correct schema and catalog. " +
      "To tolerate the error on drop use DROP VIEW IF EXISTS or DROP TABLE IF EXISTS.",
  );
}

/** Databricks' wording of a schema that does not exist. */
export function schemaNotFound(parts: string[]): SqlError {
  return new SqlError(
    "SCHEMA_NOT_FOUND",
    "42704",
    `The schema ${quotedName(parts)} cannot be found. Verify the spelling and correctness of the schema and catalog. ` +
      "If you did not qualify the name with a catalog, verify the current_schema() output, or qualify the name with the correct catalog. " +
      "To tolerate the error on drop use DROP SCHEMA IF EXISTS.",
  );
}

/** Databricks' wording of a catalog that does not exist. */
export function catalogNotFound(catalog: string): SqlError {
  return new SqlError(
    "NO_SUCH_CATALOG_EXCEPTION",
    "42704",
    `The catalog '${catalog.slice(0, 128)}' was not found. Please verify the catalog name and then retry the query or command again.`,
  );
}

/** Unity Catalog's refusal for a securable the caller holds no privilege on. */
export function insufficientPrivileges(privilege: string, securable: string, name: string[]): SqlError {
  return new SqlError(
    "INSUFFICIENT_PERMISSIONS",
    "42501",
    `Insufficient privileges: User does not have ${privilege} on ${securable} '${name.join(".")}'.`,
  );
}
