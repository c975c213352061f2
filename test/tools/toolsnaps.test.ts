import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ALL_TOOLS } from "../../tools/index.js";
import { buildToolCatalog } from "../../src/mcp/tool-catalog.js";
import { DEFAULT_TOOL_NAMES as TOOL_NAMES } from "../../tools/index.js";

const SNAP_DIR = fileURLToPath(new URL("../../tools/__toolsnaps__/", import.meta.url));
const UPDATE = process.env.UPDATE_TOOLSNAPS === "1";
const catalog = buildToolCatalog(ALL_TOOLS);

/** The public face of a tool: what tools/list shows a model. */
function snapshotOf(name: string): string {
  const { listing } = catalog.get(name)!;
  const { title: _title, ...rest } = listing;
  const face = {
    name: rest.name,
    description: rest.description,
    inputSchema: rest.inputSchema,
    outputSchema: rest.outputSchema,
    annotations: rest.annotations,
  };
  return `${JSON.stringify(face, null, 2)}\n`;
}

/** Paths of object properties (at any depth, through arrays and unions) that carry no description. */
function undescribed(schema: unknown, path = "$"): string[] {
  if (!schema || typeof schema !== "object") return [];
  const node = schema as Record<string, unknown>;
  const out: string[] = [];
  for (const [key, child] of Object.entries((node.properties as Record<string, unknown>) ?? {})) {
    const description = (child as { description?: unknown }).description;
    if (typeof description !== "string" || description.trim().length < 3) out.push(`${path}.${key}`);
    out.push(...undescribed(child, `${path}.${key}`));
  }
  if (node.items) out.push(...undescribed(node.items, `${path}[]`));
  for (const branch of ["anyOf", "oneOf", "allOf"] as const)
    for (const [i, child] of ((node[branch] as unknown[]) ?? []).entries())
      out.push(...undescribed(child, `${path}|${i}`));
  return out;
}

describe("tool schemas are public API", () => {
  it.each(TOOL_NAMES)("%s matches its snapshot in tools/__toolsnaps__ (UPDATE_TOOLSNAPS=1 rewrites it)", (name) => {
    const path = join(SNAP_DIR, `${name}.snap`);
    const current = snapshotOf(name);
    if (UPDATE) {
      mkdirSync(SNAP_DIR, { recursive: true });
      writeFileSync(path, current);
    }
    expect(existsSync(path), `no snapshot for ${name}; run with UPDATE_TOOLSNAPS=1`).toBe(true);
    expect(current, `the schema of ${name} changed; if on purpose, run with UPDATE_TOOLSNAPS=1`).toBe(
      readFileSync(path, "utf8"),
    );
  });

  it("holds no snapshot of a tool that no longer exists", () => {
    const snaps = readdirSync(SNAP_DIR).filter((f) => f.endsWith(".snap"));
    expect(snaps.sort()).toEqual(TOOL_NAMES.map((n) => `${n}.snap`).sort());
  });

  it("the description check finds an undescribed field nested in an array of objects", () => {
    const schema = { properties: { a: { type: "array", description: "list", items: { properties: { b: {} } } } } };
    expect(undescribed(schema)).toEqual(["$.a[].b"]);
  });

  it.each(TOOL_NAMES)("%s describes itself and every input and output field (the model reads them)", (name) => {
    const { listing } = catalog.get(name)!;
    expect(listing.description!.length).toBeGreaterThan(40);
    expect(undescribed(listing.inputSchema)).toEqual([]);
    expect(undescribed(listing.outputSchema)).toEqual([]);
  });

  it.each(TOOL_NAMES)("%s declares its behaviour hints and refuses unknown arguments", (name) => {
    const { listing } = catalog.get(name)!;
    expect(listing.annotations?.readOnlyHint).toBe(true);
    expect(typeof listing.annotations?.openWorldHint).toBe("boolean");
    expect(listing.inputSchema.additionalProperties).toBe(false);
  });
});
