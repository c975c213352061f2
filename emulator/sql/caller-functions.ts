import { BUILTIN_SCHEMA } from "./builtins.js";

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Roles are cluster-wide, so each workspace's roles carry its prefix; these functions give the caller's name without
 * it, so `current_user()` and `current_setting('role')` read as on Databricks. Run by the superuser at set-up.
 */
export function callerFunctionsDdl(rolePrefix: string): string[] {
  const caller = `${BUILTIN_SCHEMA}."current_user"()`;
  const unprefixed = (role: string) =>
    `CASE WHEN pg_catalog.starts_with(${role}, ${lit(rolePrefix)}) THEN pg_catalog.substr(${role}, ${rolePrefix.length + 1}) ELSE ${role} END`;
  const setting = (args: string) =>
    `CASE WHEN pg_catalog.lower(name) IN ('role', 'session_authorization') THEN ${caller} ELSE pg_catalog.current_setting(${args}) END`;
  return [
    `CREATE FUNCTION ${caller} RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT ${unprefixed("current_user::text")} $$`,
    `CREATE FUNCTION ${BUILTIN_SCHEMA}.current_setting(name text) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT ${setting("name")} $$`,
    `CREATE FUNCTION ${BUILTIN_SCHEMA}.current_setting(name text, missing_ok boolean) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT ${setting("name, missing_ok")} $$`,
    // Group tests name the group as the seed does; the role behind it carries the prefix.
    `CREATE FUNCTION public.is_member(g text) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${lit(rolePrefix)} || g) THEN pg_catalog.pg_has_role(current_user, ${lit(rolePrefix)} || g, 'MEMBER') ELSE false END $$`,
    `CREATE FUNCTION public.is_account_group_member(g text) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT public.is_member(g) $$`,
  ];
}
