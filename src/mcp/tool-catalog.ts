import { z } from "zod";
import type { Tool } from "@modelcontextprotocol/server";
import type { ToolDefinition } from "../../tools/types.js";
import { portableSchema } from "./portable-schema.js";

/** A tool with its schemas compiled once per process, not per request. */
export interface CatalogEntry {
  definition: ToolDefinition;
  input: z.ZodObject<z.ZodRawShape>;
  /** The `tools/list` entry, computed once. */
  listing: Tool;
}

export type ToolCatalog = ReadonlyMap<string, CatalogEntry>;

function jsonSchema(schema: z.ZodObject<z.ZodRawShape>, io: "input" | "output"): Tool["inputSchema"] {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return portableSchema({ ...rest, type: "object" }) as Tool["inputSchema"];
}

export function buildToolCatalog(definitions: readonly ToolDefinition[]): ToolCatalog {
  const catalog = new Map<string, CatalogEntry>();
  for (const definition of definitions) {
    const input = z.object(definition.inputSchema).strict();
    catalog.set(definition.name, {
      definition,
      input,
      listing: {
        name: definition.name,
        title: definition.title,
        description: definition.description,
        inputSchema: jsonSchema(input, "input"),
        outputSchema: jsonSchema(z.object(definition.outputSchema), "output"),
        annotations: { title: definition.title, ...definition.annotations },
      },
    });
  }
  return catalog;
}
