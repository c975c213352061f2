import { z } from "zod";
import { ErrorCodes, InputError } from "../../src/errors.js";
import { CatalogEntryBase } from "../catalog/schema.js";
import { defineKind } from "./kind.js";
import { freeText } from "./params.js";
import { readOnlyRefusal } from "./read-only-statement.js";
import { rowLimit, runStatement, statementTool } from "./statement-result.js";

const Entry = CatalogEntryBase.extend({
  kind: z.literal("sql-readonly"),
  warehouse: z.string().min(1).describe("SQL warehouse the agent's statements run on."),
  maxRows: z.number().int().positive().max(10_000).default(1000),
  maxBytes: z.number().int().positive().max(16_777_216).default(1_048_576).describe("Bytes of rows returned at most."),
  maxStatementChars: z.number().int().positive().max(100_000).default(20_000),
}).strict();

/**
 * Opt-in: the agent writes one read-only statement, run as the caller. Anything but a read is refused before it is
 * sent; Unity Catalog remains the authority over what it may read.
 */
export const sqlReadonlyKind = defineKind("sql-readonly", Entry, (entry) => {
  const input = {
    statement: freeText(
      entry.maxStatementChars,
      "One read-only SQL statement (SELECT, WITH, DESCRIBE or SHOW), Databricks SQL dialect. Unity Catalog decides what you may read.",
    ),
    limit: rowLimit(entry.maxRows),
  };
  return statementTool(
    entry,
    input,
    async (raw, ctx) => {
      const args = raw as { statement: string; limit: number };
      const refusal = readOnlyRefusal(args.statement);
      if (refusal) throw new InputError(ErrorCodes.INVALID_ARGUMENT, `Statement refused: ${refusal}.`);
      return runStatement(ctx, {
        warehouse: entry.warehouse,
        statement: args.statement,
        parameters: [],
        limit: args.limit,
        maxBytes: entry.maxBytes,
      });
    },
    { ...entry.annotations, readOnlyHint: true },
  );
});
