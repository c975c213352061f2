import { describe, expect, it } from "vitest";
import { portableSchema } from "../../src/mcp/portable-schema.js";
import { buildToolCatalog } from "../../src/mcp/tool-catalog.js";
import { ALL_TOOLS } from "../../tools/index.js";

/** Paths of every schema node whose `type` is an array (the form single-type dialects cannot map). */
function typeArrays(node: unknown, path = "$"): string[] {
  if (Array.isArray(node)) return node.flatMap((item, i) => typeArrays(item, `${path}[${i}]`));
  if (!node || typeof node !== "object") return [];
  const here = Array.isArray((node as { type?: unknown }).type) ? [path] : [];
  return [...here, ...Object.entries(node).flatMap(([key, child]) => typeArrays(child, `${path}.${key}`))];
}

/** Paths of property schemas with no validation keyword (only annotations such as a description). */
function untypedProperties(node: unknown, path = "$"): string[] {
  if (!node || typeof node !== "object" || Array.isArray(node)) return [];
  const properties = ((node as { properties?: Record<string, unknown> }).properties ?? {}) as Record<string, unknown>;
  return Object.entries(properties).flatMap(([name, child]) => {
    const keys = Object.keys((child as object) ?? {});
    const bare = keys.every((k) => ["description", "title", "default", "examples"].includes(k));
    return [...(bare ? [`${path}.${name}`] : []), ...untypedProperties(child, `${path}.${name}`)];
  });
}

describe("tool schemas are portable to single-type dialects (Gemini function declarations, ADK)", () => {
  it.each(ALL_TOOLS.map((t) => t.name))("%s: no `type` array in its input or output schema", (name) => {
    const { listing } = buildToolCatalog(ALL_TOOLS).get(name)!;
    expect(typeArrays(listing.inputSchema)).toEqual([]);
    expect(typeArrays(listing.outputSchema)).toEqual([]);
    expect(untypedProperties(listing.inputSchema)).toEqual([]);
    expect(untypedProperties(listing.outputSchema)).toEqual([]);
  });

  it("writes a nullable type as anyOf branches of one type each, keeping the node's other keywords", () => {
    expect(portableSchema({ description: "d", type: ["string", "null"], maxLength: 3 })).toEqual({
      description: "d",
      maxLength: 3,
      anyOf: [{ type: "string" }, { type: "null" }],
    });
  });

  it("rewrites nested schemas (properties, items, unions) but never a property that is merely named type", () => {
    const schema = {
      type: "object",
      properties: {
        type: { type: "string" },
        rows: { type: "array", items: { type: ["number", "null"] } },
      },
    };
    expect(portableSchema(schema)).toEqual({
      type: "object",
      properties: {
        type: { type: "string" },
        rows: { type: "array", items: { anyOf: [{ type: "number" }, { type: "null" }] } },
      },
    });
  });

  it("keeps an anyOf already on the node as a conjunct, so neither constraint is lost", () => {
    const out = portableSchema({ type: ["string", "null"], anyOf: [{ minLength: 1 }, { type: "null" }] });
    expect(out).toEqual({
      anyOf: [{ minLength: 1 }, { type: "null" }],
      allOf: [{ anyOf: [{ type: "string" }, { type: "null" }] }],
    });
  });
});

describe("a property or item that accepts any JSON value", () => {
  it("says so as one anyOf branch per JSON type, instead of a schema with no validation keyword", () => {
    expect(
      portableSchema({ type: "object", properties: { response: { description: "the service's answer" } } }),
    ).toEqual({
      type: "object",
      properties: {
        response: {
          description: "the service's answer",
          anyOf: ["object", "array", "string", "number", "boolean", "null"].map((type) => ({ type })),
        },
      },
    });
  });

  it("leaves values that are not schemas alone (a default or an example may be an empty object)", () => {
    const schema = { type: "object", properties: { filters: { type: "object", default: {} } } };
    expect(portableSchema(schema)).toEqual(schema);
  });
});
