import type { WorkspaceContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import { sendJson, type Router } from "../http/router.js";
import { requireScope, Scopes, type Principal } from "../principal.js";
import { functionInfo, seedFunctions, type UcFunction } from "./functions.js";

/** The local metastore's id, as Unity Catalog objects carry it. */
export const METASTORE_ID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";

/**
 * The Unity Catalog functions API: list a schema's functions and get one by its full name. A caller sees only the
 * functions it may EXECUTE or BROWSE; a named one it may not see answers 403, as on Databricks.
 */
export function registerUnityCatalogFunctionRoutes(router: Router, ctx: WorkspaceContext): void {
  const functions = seedFunctions(ctx.seed);
  const fullName = (fn: UcFunction) => `${fn.catalog}.${fn.schema}.${fn.name}`;
  const mayExecute = (fn: UcFunction, principal: Principal) =>
    ctx.directory.allows(
      fn.executors.map((p) => ({ principal: p, level: "EXECUTE" })),
      principal,
      "EXECUTE",
    );
  // EXECUTE includes seeing the function; BROWSE is seeing it only.
  const maySee = (fn: UcFunction, principal: Principal) =>
    mayExecute(fn, principal) ||
    ctx.directory.allows(
      fn.browsers.map((p) => ({ principal: p, level: "BROWSE" })),
      principal,
      "BROWSE",
    );

  router.add("GET", "/api/2.1/unity-catalog/functions", async ({ req, res, url }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.unityCatalog);
    const catalog = url.searchParams.get("catalog_name");
    const schema = url.searchParams.get("schema_name");
    if (!catalog || !schema)
      throw new ApiError(
        400,
        "INVALID_PARAMETER_VALUE",
        "catalog_name and schema_name are required to list functions.",
      );
    const listed = functions.filter(
      (fn) => fn.catalog === catalog.toLowerCase() && fn.schema === schema.toLowerCase() && maySee(fn, principal),
    );
    sendJson(res, 200, { functions: listed.map((fn) => functionInfo(fn, METASTORE_ID)) });
  });

  router.add("GET", "/api/2.1/unity-catalog/functions/:name", async ({ req, res, params }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.unityCatalog);
    const name = params.name!.toLowerCase();
    const fn = functions.find((f) => fullName(f) === name);
    if (!fn) throw new ApiError(404, "NOT_FOUND", `Routine or Model '${params.name!.slice(0, 256)}' does not exist.`);
    if (!maySee(fn, principal))
      throw new ApiError(403, "PERMISSION_DENIED", `User does not have EXECUTE on Routine or Model '${fullName(fn)}'.`);
    sendJson(res, 200, functionInfo(fn, METASTORE_ID));
  });
}
