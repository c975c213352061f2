/** The workspace resources the tool catalog names (MCP_TOOLS_FILE, or the default one), as doctor checks them. */
import type { Config } from "../../config/schema.js";
import { readConfiguredCatalog } from "../../../tools/catalog/load.js";
import { CatalogFile } from "../../../tools/catalog/schema.js";
import { WORKSPACE_REFERENCES, resolveReferences } from "../../../tools/catalog/references.js";

/** The entry fields that name a resource, and what each is. */
export const RESOURCE_FIELDS = {
  space: "Genie space",
  index: "vector index",
  endpoint: "serving endpoint",
  function: "function",
  schema: "functions of schema",
  connection: "connection",
  warehouse: "warehouse",
} as const;
export type ResourceField = keyof typeof RESOURCE_FIELDS;

export interface CatalogResource {
  field: ResourceField;
  name: string;
  /** The catalog entries naming it. */
  tools: string[];
  /** Where a person changes it: the variable an entry's `${workspace.<key>}` names, else the catalog file. */
  setting: string;
}

const REFERENCE = /^\$\{workspace\.([A-Za-z]+)\}$/;

/**
 * Each distinct resource the catalog's offered entries name, in catalog order. An entry whose `${workspace.<key>}` is
 * not configured is not offered, so it is left out here too; an unreadable catalog is the configuration's failure.
 */
export function catalogResources(config: Config): CatalogResource[] {
  const file = CatalogFile.safeParse(readConfiguredCatalog(config));
  if (!file.success) return [];
  const catalogSetting = config.catalog.file ? `MCP_TOOLS_FILE (${config.catalog.file})` : "the default catalog";
  const found = new Map<string, CatalogResource>();
  for (const entry of file.data.tools) {
    let resolved;
    try {
      resolved = resolveReferences(entry, config.workspace, entry.name);
    } catch {
      continue;
    }
    if ("missing" in resolved) continue;
    const values = resolved.value as Record<string, unknown>;
    for (const field of Object.keys(RESOURCE_FIELDS) as ResourceField[]) {
      const name = values[field];
      if (typeof name !== "string" || !name) continue;
      const reference = REFERENCE.exec(String(entry[field] ?? ""))?.[1];
      const key = `${field}|${name}`;
      const known = found.get(key);
      if (known) {
        known.tools.push(entry.name);
        continue;
      }
      found.set(key, {
        field,
        name,
        tools: [entry.name],
        setting: (reference && WORKSPACE_REFERENCES[reference]) ?? `entry ${entry.name} of ${catalogSetting}`,
      });
    }
  }
  return [...found.values()];
}
