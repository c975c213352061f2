/**
 * Databricks built-in functions the engine lacks, as SQL functions in one schema. The schema and its functions
 * belong to the superuser: callers may execute them, never replace or alter them. They run as the caller
 * (security invoker) and read no table, so they see only what the caller's own query already sees.
 */
export const BUILTIN_SCHEMA = "builtin";

/**
 * Names the dialect qualifies with the builtin schema when called unqualified; Postgres' own functions of the same
 * name (round, date_trunc) would otherwise win with their own semantics (half-even rounding, Postgres units).
 */
export const BUILTIN_FUNCTIONS: ReadonlySet<string> = new Set([
  "year",
  "quarter",
  "month",
  "day",
  "dayofmonth",
  "hour",
  "minute",
  "date_format",
  "date_trunc",
  "to_date",
  "ifnull",
  "nvl",
  "nvl2",
  "try_divide",
  "round",
  "current_setting",
]);

const b = (name: string) => `${BUILTIN_SCHEMA}.${name}`;

/** `date_part` fields behind Databricks' date accessors. */
const DATE_PARTS: Record<string, string> = {
  year: "year",
  quarter: "quarter",
  month: "month",
  day: "day",
  dayofmonth: "day",
  hour: "hour",
  minute: "minute",
};

/**
 * A Spark datetime pattern (`yyyy-MM-dd HH:mm`, quoted literals, '' for a quote) as a Postgres `to_char` pattern.
 * Letters Spark does not define are copied as literal text.
 */
const DATETIME_PATTERN = `
CREATE FUNCTION ${b("datetime_pattern")}(spark text) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  result text := '';
  i int := 1;
  n int := length(spark);
  c text;
  run int;
  literal text;
BEGIN
  WHILE i <= n LOOP
    c := substr(spark, i, 1);
    IF c = '''' THEN
      IF substr(spark, i + 1, 1) = '''' THEN
        result := result || '''';
        i := i + 2;
        CONTINUE;
      END IF;
      literal := '';
      i := i + 1;
      WHILE i <= n LOOP
        IF substr(spark, i, 1) = '''' THEN
          IF substr(spark, i + 1, 1) <> '''' THEN EXIT; END IF;
          i := i + 1;
        END IF;
        literal := literal || substr(spark, i, 1);
        i := i + 1;
      END LOOP;
      i := i + 1;
      result := result || '"' || replace(replace(literal, '\\', '\\\\'), '"', '\\"') || '"';
      CONTINUE;
    END IF;
    run := 1;
    WHILE i + run <= n AND substr(spark, i + run, 1) = c LOOP
      run := run + 1;
    END LOOP;
    result := result || CASE
      WHEN c = 'y' THEN CASE WHEN run = 2 THEN 'YY' ELSE 'YYYY' END
      WHEN c = 'Y' THEN CASE WHEN run = 2 THEN 'IY' ELSE 'IYYY' END
      WHEN c IN ('M', 'L') THEN CASE run WHEN 1 THEN 'FMMM' WHEN 2 THEN 'MM' WHEN 3 THEN 'Mon' ELSE 'FMMonth' END
      WHEN c = 'd' THEN CASE WHEN run = 1 THEN 'FMDD' ELSE 'DD' END
      WHEN c = 'D' THEN CASE WHEN run < 3 THEN 'FMDDD' ELSE 'DDD' END
      WHEN c = 'H' THEN CASE WHEN run = 1 THEN 'FMHH24' ELSE 'HH24' END
      WHEN c = 'h' THEN CASE WHEN run = 1 THEN 'FMHH12' ELSE 'HH12' END
      WHEN c = 'm' THEN CASE WHEN run = 1 THEN 'FMMI' ELSE 'MI' END
      WHEN c = 's' THEN CASE WHEN run = 1 THEN 'FMSS' ELSE 'SS' END
      WHEN c = 'S' THEN 'FF' || least(run, 6)
      WHEN c = 'a' THEN 'AM'
      WHEN c = 'E' THEN CASE WHEN run <= 3 THEN 'Dy' ELSE 'FMDay' END
      WHEN c IN ('Q', 'q') THEN 'Q'
      WHEN c = 'z' THEN 'TZ'
      WHEN c IN ('Z', 'X', 'x') THEN 'OF'
      WHEN c ~ '[A-Za-z"\\\\]' THEN '"' || replace(replace(repeat(c, run), '\\', '\\\\'), '"', '\\"') || '"'
      ELSE repeat(c, run)
    END;
    i := i + run;
  END LOOP;
  RETURN result;
END
$fn$`;

/** The units Databricks' date_trunc takes (first argument), as Postgres date_trunc fields; others give NULL. */
const TRUNC_UNIT = `CASE upper(unit) WHEN 'YEAR' THEN 'year' WHEN 'YYYY' THEN 'year' WHEN 'YY' THEN 'year'
  WHEN 'QUARTER' THEN 'quarter' WHEN 'MONTH' THEN 'month' WHEN 'MM' THEN 'month' WHEN 'MON' THEN 'month'
  WHEN 'WEEK' THEN 'week' WHEN 'DAY' THEN 'day' WHEN 'DD' THEN 'day' WHEN 'HOUR' THEN 'hour' WHEN 'MINUTE' THEN 'minute'
  WHEN 'SECOND' THEN 'second' WHEN 'MILLISECOND' THEN 'milliseconds' WHEN 'MICROSECOND' THEN 'microseconds' END`;

const sql = (signature: string, returns: string, body: string, volatility = "IMMUTABLE") =>
  `CREATE FUNCTION ${b(signature)} RETURNS ${returns} LANGUAGE sql ${volatility} PARALLEL SAFE AS $fn$ SELECT ${body} $fn$`;

/**
 * JSON text as `from_json` reads an array of structs in its default (permissive) mode: null when the text is not
 * JSON or not an array, and a lone object as an array of one. (An element that is not an object reads as a row of
 * nulls: `->` on it is null.)
 */
const JSON_RECORDS = `
CREATE FUNCTION ${b("json_records")}(s text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
  j jsonb;
BEGIN
  BEGIN
    j := s::jsonb;
  EXCEPTION WHEN others THEN
    RETURN NULL;
  END;
  IF jsonb_typeof(j) = 'object' THEN
    RETURN jsonb_build_array(j);
  END IF;
  IF jsonb_typeof(j) IS DISTINCT FROM 'array' THEN
    RETURN NULL;
  END IF;
  RETURN j;
END
$fn$`;

/** The statements that create the builtin schema and its functions; run once by the superuser at engine start. */
export function builtinFunctionsDdl(): string[] {
  const accessors = Object.entries(DATE_PARTS).flatMap(([name, field]) => [
    sql(`${name}(d date)`, "integer", `pg_catalog.date_part('${field}', d)::integer`),
    sql(`${name}(t timestamptz)`, "integer", `pg_catalog.date_part('${field}', t)::integer`, "STABLE"),
    sql(`${name}(s text)`, "integer", `pg_catalog.date_part('${field}', s::timestamptz)::integer`, "STABLE"),
  ]);
  return [
    `CREATE SCHEMA ${BUILTIN_SCHEMA}`,
    DATETIME_PATTERN,
    JSON_RECORDS,
    ...accessors,
    sql(
      "date_format(t timestamptz, fmt text)",
      "text",
      `pg_catalog.to_char(t, ${b("datetime_pattern")}(fmt))`,
      "STABLE",
    ),
    sql("date_format(d date, fmt text)", "text", `pg_catalog.to_char(d::timestamp, ${b("datetime_pattern")}(fmt))`),
    sql(
      "date_format(s text, fmt text)",
      "text",
      `pg_catalog.to_char(s::timestamptz, ${b("datetime_pattern")}(fmt))`,
      "STABLE",
    ),
    sql("date_trunc(unit text, t timestamptz)", "timestamptz", `pg_catalog.date_trunc(${TRUNC_UNIT}, t)`, "STABLE"),
    sql(
      "date_trunc(unit text, d date)",
      "timestamptz",
      `pg_catalog.date_trunc(${TRUNC_UNIT}, d::timestamptz)`,
      "STABLE",
    ),
    sql(
      "date_trunc(unit text, s text)",
      "timestamptz",
      `pg_catalog.date_trunc(${TRUNC_UNIT}, s::timestamptz)`,
      "STABLE",
    ),
    sql("to_date(s text)", "date", "s::date", "STABLE"),
    sql("to_date(s text, fmt text)", "date", `pg_catalog.to_date(s, ${b("datetime_pattern")}(fmt))`, "STABLE"),
    sql("ifnull(a anycompatible, b anycompatible)", "anycompatible", "coalesce(a, b)"),
    sql("nvl(a anycompatible, b anycompatible)", "anycompatible", "coalesce(a, b)"),
    sql(
      "nvl2(a anyelement, b anycompatible, c anycompatible)",
      "anycompatible",
      "CASE WHEN a IS NOT NULL THEN b ELSE c END",
    ),
    // A literal NULL or string as the tested value has no type of its own; this overload gives it one.
    sql("nvl2(a text, b anycompatible, c anycompatible)", "anycompatible", "CASE WHEN a IS NOT NULL THEN b ELSE c END"),
    sql("try_divide(a numeric, b numeric)", "numeric", "CASE WHEN b = 0 THEN NULL ELSE a / b END"),
    sql(
      "try_divide(a double precision, b double precision)",
      "double precision",
      "CASE WHEN b = 0 THEN NULL ELSE a / b END",
    ),
    // Databricks rounds half away from zero (HALF_UP) for every type; Postgres rounds doubles half to even.
    sql("round(x numeric, d integer DEFAULT 0)", "numeric", "pg_catalog.round(x, d)"),
    sql(
      "round(x double precision, d integer DEFAULT 0)",
      "double precision",
      "pg_catalog.round(x::numeric, d)::double precision",
    ),
    sql("round(x integer, d integer DEFAULT 0)", "integer", "pg_catalog.round(x::numeric, d)::integer"),
    sql("round(x bigint, d integer DEFAULT 0)", "bigint", "pg_catalog.round(x::numeric, d)::bigint"),
    `GRANT USAGE ON SCHEMA ${BUILTIN_SCHEMA} TO PUBLIC`,
  ];
}
