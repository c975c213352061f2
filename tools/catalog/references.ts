/** A configured value an entry may name as `${workspace.<key>}`, with the variable a person sets for it. */
export const WORKSPACE_REFERENCES: Readonly<Record<string, string>> = {
  warehouseId: "DATABRICKS_WAREHOUSE_ID",
  salesTable: "MCP_SALES_TABLE",
  auditTable: "MCP_AUDIT_TABLE",
  genieSpaceId: "DATABRICKS_GENIE_SPACE_ID",
  vectorIndex: "DATABRICKS_VECTOR_INDEX",
  supervisorEndpoint: "DATABRICKS_SUPERVISOR_ENDPOINT",
};

/** Resource names that give a catalog its shape where none is configured (the default catalog's listing, sign-in). */
export const EXAMPLE_WORKSPACE: Readonly<Record<keyof typeof WORKSPACE_REFERENCES & string, string>> = {
  warehouseId: "example-warehouse",
  salesTable: "main.sales.deals",
  auditTable: "main.governance.mcp_audit",
  genieSpaceId: "example-space",
  vectorIndex: "main.knowledge.docs_index",
  supervisorEndpoint: "sales-supervisor-agent",
};

const REFERENCE = /\$\{workspace\.([A-Za-z]+)\}/g;

export type Resolved<T> = { value: T } | { missing: string };

/**
 * Replaces every `${workspace.<key>}` in the strings of an entry with the configured value. An unknown key is an
 * error; a known key with no value makes the entry unresolved (the tool is then not offered).
 */
export function resolveReferences(
  value: unknown,
  workspace: Readonly<Record<string, unknown>>,
  where: string,
): Resolved<unknown> {
  if (typeof value === "string") {
    let missing: string | undefined;
    const text = value.replace(REFERENCE, (_all, key: string) => {
      if (!(key in WORKSPACE_REFERENCES))
        throw new Error(
          `${where}: unknown reference \${workspace.${key}}; known: ${Object.keys(WORKSPACE_REFERENCES).join(", ")}`,
        );
      const v = workspace[key];
      if (v === undefined || v === null || v === "") missing ??= key;
      return String(v ?? "");
    });
    return missing ? { missing } : { value: text };
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      const r = resolveReferences(item, workspace, where);
      if ("missing" in r) return r;
      out.push(r.value);
    }
    return { value: out };
  }
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = resolveReferences(v, workspace, where);
      if ("missing" in r) return r;
      out[k] = r.value;
    }
    return { value: out };
  }
  return { value };
}
