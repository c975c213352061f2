import { typeExpressions } from "./databricks-types.js";

/** What the Databricks-shaped information_schema describes. */
export interface CatalogLayout {
  /** The one catalog, e.g. `main`. */
  catalog: string;
  /** The catalog's schemas that hold data, e.g. `sales`, `governance`. */
  schemas: string[];
  /** The schema of the private tables behind governed views; its column nullability is reported for the view. */
  privateSchema: string;
  /** The role owning the data schemas, reported as the owner. */
  owner: string;
  /** When the catalog was created (engine start), reported as created and last altered. */
  createdAt: Date;
}

export const INFORMATION_SCHEMA = "information_schema";

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Databricks' information_schema (catalogs, schemata, tables, columns) for the one catalog, replacing Postgres' own,
 * which would name the database (`postgres`) as catalog and use Postgres type names. Every row is filtered by the
 * caller's own privileges (the views call `has_*_privilege` as the invoker), and the views are security barriers, so
 * a caller's predicate never sees a row the filter dropped. Run once by the superuser at engine start.
 */
export function informationSchemaDdl(layout: CatalogLayout): string[] {
  const schemas = [...layout.schemas, INFORMATION_SCHEMA].map(lit).join(", ");
  const created = `TIMESTAMPTZ ${lit(layout.createdAt.toISOString())}`;
  const catalog = `${lit(layout.catalog)}::text`;
  const owner = `CASE WHEN n.nspname = '${INFORMATION_SCHEMA}' THEN 'System user' ELSE ${lit(layout.owner)} END`;
  const inCatalog = `n.nspname IN (${schemas}) AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')`;
  const t = typeExpressions("a.atttypid", "a.atttypmod");
  const view = (name: string, select: string) =>
    `CREATE VIEW ${INFORMATION_SCHEMA}.${name} WITH (security_barrier) AS ${select}`;
  return [
    // Postgres' own information_schema moves aside where no caller can use it.
    `ALTER SCHEMA ${INFORMATION_SCHEMA} RENAME TO postgres_information_schema`,
    "REVOKE ALL ON SCHEMA postgres_information_schema FROM PUBLIC",
    `CREATE SCHEMA ${INFORMATION_SCHEMA}`,
    view(
      "catalogs",
      `SELECT ${catalog} AS catalog_name, ${lit(layout.owner)}::text AS catalog_owner, NULL::text AS comment,
        ${created} AS created, ${lit(layout.owner)}::text AS created_by, ${created} AS last_altered,
        ${lit(layout.owner)}::text AS last_altered_by`,
    ),
    view(
      "schemata",
      `SELECT ${catalog} AS catalog_name, n.nspname::text AS schema_name, ${owner} AS schema_owner,
        NULL::text AS comment, ${created} AS created, ${owner} AS created_by, ${created} AS last_altered,
        ${owner} AS last_altered_by
       FROM pg_catalog.pg_namespace n WHERE ${inCatalog}`,
    ),
    view(
      "tables",
      `SELECT ${catalog} AS table_catalog, n.nspname::text AS table_schema, c.relname::text AS table_name,
        CASE WHEN n.nspname = '${INFORMATION_SCHEMA}' THEN 'VIEW' ELSE 'MANAGED' END AS table_type,
        CASE WHEN n.nspname = '${INFORMATION_SCHEMA}' THEN 'NO' ELSE 'YES' END AS is_insertable_into,
        'PRESERVE'::text AS commit_action, ${owner} AS table_owner,
        pg_catalog.obj_description(c.oid, 'pg_class') AS comment, ${created} AS created, ${owner} AS created_by,
        ${created} AS last_altered, ${owner} AS last_altered_by,
        CASE WHEN n.nspname = '${INFORMATION_SCHEMA}' THEN 'UNKNOWN' ELSE 'DELTA' END AS data_source_format,
        NULL::text AS storage_sub_directory
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE ${inCatalog} AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
         AND pg_catalog.has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')`,
    ),
    view(
      "columns",
      `SELECT ${catalog} AS table_catalog, n.nspname::text AS table_schema, c.relname::text AS table_name,
        a.attname::text AS column_name, a.attnum::integer AS ordinal_position, NULL::text AS column_default,
        CASE WHEN a.attnotnull OR coalesce(p.attnotnull, false) THEN 'NO' ELSE 'YES' END AS is_nullable,
        ${t.fullDataType} AS full_data_type, ${t.dataType} AS data_type,
        NULL::integer AS character_maximum_length, NULL::integer AS character_octet_length,
        (${t.numericPrecision})::integer AS numeric_precision,
        (${t.numericPrecisionRadix})::integer AS numeric_precision_radix,
        (${t.numericScale})::integer AS numeric_scale, (${t.datetimePrecision})::integer AS datetime_precision,
        NULL::text AS interval_type, NULL::integer AS interval_precision, 'NO'::text AS is_identity,
        'NO'::text AS is_generated, NULL::text AS generation_expression,
        pg_catalog.col_description(c.oid, a.attnum) AS comment
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_catalog.pg_namespace pn ON pn.nspname = ${lit(layout.privateSchema)}
       LEFT JOIN pg_catalog.pg_class pc ON pc.relnamespace = pn.oid AND pc.relname = c.relname AND c.relkind = 'v'
       LEFT JOIN pg_catalog.pg_attribute p ON p.attrelid = pc.oid AND p.attname = a.attname
       WHERE ${inCatalog} AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
         AND pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT, INSERT, UPDATE, REFERENCES')`,
    ),
    `GRANT USAGE ON SCHEMA ${INFORMATION_SCHEMA} TO PUBLIC`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${INFORMATION_SCHEMA} TO PUBLIC`,
  ];
}
