import { buildCatalog, DEFAULT_CATALOG_FILE, readCatalogFile } from "./catalog/load.js";
import { EXAMPLE_WORKSPACE } from "./catalog/references.js";

/**
 * The default catalog's tools, in the order `tools/list` shows them: their names, scopes, roles and schemas
 * (snapshots, sign-in scopes). Calls always go to the tools the server built from its configuration.
 */
export const ALL_TOOLS = buildCatalog(readCatalogFile(DEFAULT_CATALOG_FILE, "the default catalog"), {
  workspace: EXAMPLE_WORKSPACE,
  source: "the default catalog",
}).tools;

/** Names of the default catalog's tools. */
export const DEFAULT_TOOL_NAMES: readonly string[] = ALL_TOOLS.map((t) => t.name);

/** The default catalog's role → tools matrix (the roles each entry names). */
export const DEFAULT_RBAC: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  [...new Set(ALL_TOOLS.flatMap((t) => t.roles ?? []))].map((role) => [
    role,
    ALL_TOOLS.filter((t) => t.roles?.includes(role)).map((t) => t.name),
  ]),
);
