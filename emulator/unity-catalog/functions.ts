import { createHash } from "node:crypto";
import type { Seed } from "../seed/schema.js";

/** One input parameter of a Unity Catalog function, as FunctionParameterInfo spells it. */
export interface UcFunctionParameter {
  name: string;
  /** Databricks type name (STRING, INT, DATE, …) and its Postgres spelling here. */
  typeName: string;
  pgType: string;
  comment: string;
  /** SQL text of the default (`parameter_default`); absent: the argument is required. */
  defaultSql?: string;
}

/** A SQL-bodied table function of the local metastore; its body reads governed views, so Unity Catalog applies inside. */
export interface UcFunction {
  catalog: string;
  schema: string;
  name: string;
  comment: string;
  parameters: UcFunctionParameter[];
  returns: { name: string; typeName: string; pgType: string; comment: string }[];
  /** The body as Databricks shows it (`routine_definition`) and as Postgres runs it (positional `$n`). */
  definition: string;
  pgBody: string;
  /** Who holds EXECUTE (users, service principals or groups). */
  executors: string[];
  /** Who may read its metadata without running it (BROWSE), e.g. the MCP server describing its tools. */
  browsers: string[];
}

/** The seed's functions: the region summary every role may call, each seeing its own regions (row filter inside). */
export function seedFunctions(seed: Seed): UcFunction[] {
  const deals = seed.tables.deals.name;
  const [catalog, schema] = deals.split(".") as [string, string];
  const readers = seed.tables.deals.grants.filter((g) => g.level === "SELECT").map((g) => g.principal);
  return [
    {
      catalog,
      schema,
      name: "get_region_summary",
      comment:
        "Deals, total and average amount per region for one fiscal quarter (all quarters when null); Unity Catalog's row filter limits the regions to the caller's.",
      parameters: [
        {
          name: "quarter",
          typeName: "STRING",
          pgType: "text",
          comment: "Fiscal quarter such as 2026-Q1; null for every quarter.",
          defaultSql: "NULL",
        },
      ],
      returns: [
        { name: "region", typeName: "STRING", pgType: "text", comment: "Sales region." },
        { name: "deal_count", typeName: "BIGINT", pgType: "bigint", comment: "Deals in the region." },
        { name: "total_amount", typeName: "DECIMAL(14,2)", pgType: "numeric(14,2)", comment: "Sum of deal amounts." },
        { name: "avg_amount", typeName: "DECIMAL(14,2)", pgType: "numeric(14,2)", comment: "Average deal amount." },
      ],
      definition: `SELECT region, COUNT(*) AS deal_count, CAST(SUM(amount) AS DECIMAL(14,2)) AS total_amount, CAST(AVG(amount) AS DECIMAL(14,2)) AS avg_amount FROM ${deals} AS d WHERE get_region_summary.quarter IS NULL OR d.quarter = get_region_summary.quarter GROUP BY region`,
      pgBody: `SELECT d.region, COUNT(*)::bigint, SUM(d.amount)::numeric(14,2), ROUND(AVG(d.amount), 2)::numeric(14,2) FROM ${schema}.deals d WHERE $1 IS NULL OR d.quarter = $1 GROUP BY d.region ORDER BY d.region`,
      executors: readers,
      browsers: ["mcp_servers"],
    },
  ];
}

const q = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

/**
 * The functions in Postgres: created by the owner of the governed views, SECURITY INVOKER so the caller's row filter
 * and masks apply inside, EXECUTE only for the grantees. Applied by the engine once its governance is in place;
 * `role` maps a seed name to the engine's role for it (an engine may prefix them).
 */
export function ucFunctionsDdl(seed: Seed, role: (name: string) => string = (name) => name): string[] {
  return seedFunctions(seed).flatMap((fn) => {
    const signature = `${q(fn.schema)}.${q(fn.name)}(${fn.parameters.map((p) => p.pgType).join(", ")})`;
    const args = fn.parameters
      .map((p) => `${q(p.name)} ${p.pgType}${p.defaultSql ? ` DEFAULT ${p.defaultSql}` : ""}`)
      .join(", ");
    const table = fn.returns.map((r) => `${q(r.name)} ${r.pgType}`).join(", ");
    return [
      `SET ROLE ${q(role("uc_owner"))}`,
      `CREATE FUNCTION ${q(fn.schema)}.${q(fn.name)}(${args}) RETURNS TABLE(${table}) LANGUAGE sql STABLE SECURITY INVOKER AS $body$ ${fn.pgBody} $body$`,
      `REVOKE EXECUTE ON FUNCTION ${signature} FROM PUBLIC`,
      `GRANT EXECUTE ON FUNCTION ${signature} TO ${fn.executors.map((e) => q(role(e))).join(", ")}`,
      "RESET ROLE",
    ];
  });
}

const CREATED_AT = Date.UTC(2026, 9, 1);

/** FunctionInfo as the Unity Catalog functions API returns it. */
export function functionInfo(fn: UcFunction, metastoreId: string): Record<string, unknown> {
  const fullName = `${fn.catalog}.${fn.schema}.${fn.name}`;
  const param = (p: { name: string; typeName: string; comment: string; defaultSql?: string }, position: number) => ({
    name: p.name,
    type_text: p.typeName.toLowerCase(),
    type_name: p.typeName.replace(/\(.*$/, ""),
    type_json: JSON.stringify({ name: p.name, type: p.typeName.toLowerCase(), nullable: true, metadata: {} }),
    position,
    parameter_mode: "IN",
    parameter_type: "PARAM",
    ...(p.defaultSql !== undefined ? { parameter_default: p.defaultSql } : {}),
    comment: p.comment,
  });
  return {
    name: fn.name,
    catalog_name: fn.catalog,
    schema_name: fn.schema,
    full_name: fullName,
    function_id: createHash("sha256")
      .update(fullName)
      .digest("hex")
      .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/, "$1-$2-$3-$4-$5"),
    metastore_id: metastoreId,
    comment: fn.comment,
    input_params: { parameters: fn.parameters.map(param) },
    data_type: "TABLE_TYPE",
    full_data_type: `TABLE(${fn.returns.map((r) => `${r.name} ${r.typeName}`).join(", ")})`,
    return_params: { parameters: fn.returns.map(param) },
    routine_body: "SQL",
    routine_definition: fn.definition,
    parameter_style: "S",
    is_deterministic: false,
    sql_data_access: "READS_SQL_DATA",
    is_null_call: false,
    security_type: "DEFINER",
    specific_name: fn.name,
    owner: "uc_owner",
    created_at: CREATED_AT,
    created_by: "uc_owner",
    updated_at: CREATED_AT,
    updated_by: "uc_owner",
  };
}
