import { z } from "zod";
import { ErrorCodes, InputError } from "../../src/errors.js";
import type { FunctionInfo } from "../../src/databricks/workspace-api.js";
import { CatalogEntryBase, CatalogParameter } from "../catalog/schema.js";
import { defineKind, type CatalogDiscovery } from "./kind.js";
import { parameterSchema, statementParameters } from "./bound-parameters.js";
import { rowLimit, runStatement, statementTool } from "./statement-result.js";

const THREE_PART = /^[A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*$/;

/** Catalog parameter type of each Unity Catalog type name a tool can take. */
const PARAMETER_TYPES: Record<string, CatalogParameter["type"]> = {
  STRING: "string",
  CHAR: "string",
  VARCHAR: "string",
  INT: "integer",
  LONG: "integer",
  BIGINT: "integer",
  SHORT: "integer",
  BYTE: "integer",
  DOUBLE: "number",
  FLOAT: "number",
  DECIMAL: "number",
  BOOLEAN: "boolean",
  DATE: "date",
  TIMESTAMP: "timestamp",
};

/** The catalog parameters of a function's input_params; a parameter type no tool can take is an error. */
export function parametersOf(info: FunctionInfo): Record<string, unknown>[] {
  return [...(info.input_params?.parameters ?? [])]
    .sort((a, b) => (a.position ?? 0) - (b.position ?? 0))
    .map((p) => {
      const typeName = (p.type_name ?? "").toUpperCase();
      const type = PARAMETER_TYPES[typeName];
      if (!type) throw new Error(`parameter ${p.name} has type ${typeName || "?"}, which a tool cannot take`);
      return {
        name: p.name,
        type,
        description: p.comment && p.comment.length >= 3 ? p.comment : `The ${p.name} argument (${typeName}).`,
        required: p.parameter_default === undefined,
      };
    });
}

/** A raw uc-function entry completed from the function's FunctionInfo (what the entry states wins). */
export function entryFromFunction(raw: Record<string, unknown>, info: FunctionInfo): Record<string, unknown> {
  const fullName = info.full_name ?? `${info.catalog_name}.${info.schema_name}.${info.name}`;
  return {
    title: info.name,
    description:
      info.comment && info.comment.length >= 20 ? info.comment : `Calls the Unity Catalog function ${fullName} as you.`,
    ...raw,
    kind: "uc-function",
    function: fullName,
    parameters: raw.parameters ?? parametersOf(info),
  };
}

const Entry = CatalogEntryBase.extend({
  kind: z.literal("uc-function"),
  function: z.string().regex(THREE_PART, "a three-part name catalog.schema.function").describe("The function."),
  warehouse: z.string().min(1).describe("SQL warehouse the function runs on."),
  parameters: z.array(CatalogParameter).default([]).describe("Its inputs; absent: read from the functions API."),
  maxRows: z.number().int().positive().max(10_000).default(1000),
}).strict();

async function discoverFunction(raw: Record<string, unknown>, discovery: CatalogDiscovery) {
  if (raw.parameters !== undefined && raw.description !== undefined && raw.title !== undefined) return [raw];
  if (typeof raw.function !== "string" || !THREE_PART.test(raw.function)) return [raw];
  return [entryFromFunction(raw, await discovery.getFunction(raw.function))];
}

/**
 * One Unity Catalog table function, called through the Statement API as the caller: EXECUTE decides, and row filters
 * and masks apply inside the function. Omitted optional arguments take the function's own defaults.
 */
export const ucFunctionKind = defineKind(
  "uc-function",
  Entry,
  (entry) => {
    const input: Record<string, z.ZodType> = {};
    for (const p of entry.parameters) if (!p.fromIdentity) input[p.name] = parameterSchema(p);
    if ("limit" in input) throw new Error(`${entry.function}: a parameter named limit clashes with the row limit`);
    input.limit = rowLimit(entry.maxRows);
    return statementTool(entry, input, async (args, ctx) => {
      const given = entry.parameters.filter((p) => p.fromIdentity || args[p.name] !== undefined);
      const parameters = statementParameters(given, args, ctx.caller, entry.name);
      const named = given.map((p) => `${p.name} => :${p.name}`).join(", ");
      if (given.some((p) => !/^[a-z_][a-z0-9_]*$/.test(p.name)))
        throw new InputError(ErrorCodes.INVALID_ARGUMENT, "A parameter name is not plain.");
      return runStatement(ctx, {
        warehouse: entry.warehouse,
        statement: `SELECT * FROM ${entry.function}(${named})`,
        parameters,
        limit: args.limit as number,
      });
    });
  },
  discoverFunction,
);

const SchemaEntry = CatalogEntryBase.partial({ title: true, description: true })
  .extend({
    kind: z.literal("uc-functions"),
    schema: z
      .string()
      .regex(/^[A-Za-z_]\w*\.[A-Za-z_]\w*$/, "a two-part name catalog.schema")
      .describe("Every function of this schema becomes a tool."),
    prefix: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,31}$/)
      .default("")
      .describe("Put before each function's name."),
    warehouse: z.string().min(1),
    maxRows: z.number().int().positive().max(10_000).optional(),
  })
  .strict();

/** The catalog and schema a uc-functions entry names (checked). */
const schemaOf = (raw: Record<string, unknown>) => SchemaEntry.parse(raw).schema.split(".") as [string, string];

/** The uc-function entries a schema's functions become, each named by its function (after the entry's prefix). */
function schemaEntries(raw: Record<string, unknown>, functions: readonly FunctionInfo[]): Record<string, unknown>[] {
  const {
    schema: _schema,
    prefix,
    kind: _kind,
    name: _name,
    title: _title,
    description: _description,
    ...shared
  } = raw;
  return functions.map((info) =>
    entryFromFunction({ ...shared, name: `${prefix ?? ""}${info.name}`.toLowerCase() }, info),
  );
}

/** Every function of a schema as a tool (as Databricks' managed functions server offers them), listed at start-up. */
export const ucFunctionsKind = {
  kind: "uc-functions",
  entry: SchemaEntry,
  async discover(raw: Record<string, unknown>, discovery: CatalogDiscovery) {
    const [catalog, schema] = schemaOf(raw);
    return schemaEntries(raw, await discovery.listFunctions(catalog, schema));
  },
  standIn(raw: Record<string, unknown>) {
    const [catalog, schema] = schemaOf(raw);
    // Named as the entry is: names are unique in a catalog, so several schemas' stand-ins never clash.
    const [entry] = schemaEntries(raw, [{ name: "function", catalog_name: catalog, schema_name: schema }]);
    return [{ ...entry, name: raw.name }];
  },
};
