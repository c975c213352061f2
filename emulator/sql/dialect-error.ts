/** Thrown for SQL the local engine refuses before Postgres sees it, with the Databricks error class and SQLSTATE. */
export class DialectError extends Error {
  constructor(
    readonly errorClass: string,
    message: string,
    readonly sqlState = "42000",
  ) {
    super(message);
  }
}
