import type { z } from "zod";
import type { ToolDefinition } from "../types.js";

/** What building a tool may know besides its own entry. */
export interface BuildContext {
  /** Names of every tool the catalog offers (check_identity lists the caller's among them). */
  toolNames: readonly string[];
}

/** A kind is code: it checks an entry's fields and turns the entry into a tool bound to its resource. */
export interface ToolKind<E = unknown> {
  kind: string;
  /** The whole entry as this kind reads it (the common fields plus its own, its resource among them). */
  entry: z.ZodType;
  build(entry: E, context: BuildContext): ToolDefinition;
}

/** Declares a kind with its entry type inferred from its schema. */
export function defineKind<S extends z.ZodType>(
  kind: string,
  entry: S,
  build: (entry: z.infer<S>, context: BuildContext) => ToolDefinition,
): ToolKind<z.infer<S>> {
  return { kind, entry, build };
}
