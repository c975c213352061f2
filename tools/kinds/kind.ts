import type { z } from "zod";
import type { FunctionInfo } from "../../src/databricks/workspace-api.js";
import type { CatalogEntryBase } from "../catalog/schema.js";
import type { ToolDefinition } from "../types.js";

/** What building a tool may know besides its own entry. */
export interface BuildContext {
  /** Names of every tool the catalog offers (check_identity lists the caller's among them). */
  toolNames: readonly string[];
}

/** What the workspace says about the resources of entries that describe themselves (read at start-up). */
export interface CatalogDiscovery {
  getFunction(fullName: string): Promise<FunctionInfo>;
  listFunctions(catalog: string, schema: string): Promise<FunctionInfo[]>;
}

/** A kind is code: it checks an entry's fields and turns the entry into a tool bound to its resource. */
export interface ToolKind<E = unknown> {
  kind: string;
  /** The whole entry as this kind reads it (the common fields plus its own, its resource among them). */
  entry: z.ZodType;
  /** Absent for a kind that only stands for other entries (uc-functions): it must be discovered. */
  build?(entry: E, context: BuildContext): ToolDefinition;
  /** Completes or expands a raw entry from the workspace before it is checked (e.g. a function's parameters). */
  discover?(raw: Record<string, unknown>, discovery: CatalogDiscovery): Promise<Record<string, unknown>[]>;
  /**
   * For a kind that only stands for other entries: one entry of the kind it expands into, with the roles and
   * resources the workspace's entries will have, for what the file alone must tell (sign-in scopes) with no workspace.
   */
  standIn?(raw: Record<string, unknown>): Record<string, unknown>[];
}

/** Declares a kind with its entry type inferred from its schema. */
export function defineKind<S extends z.ZodType>(
  kind: string,
  entry: S,
  build: (entry: z.infer<S>, context: BuildContext) => ToolDefinition,
  discover?: ToolKind["discover"],
): ToolKind<z.infer<S>> {
  return { kind, entry, build, discover };
}

/** The tool's fields every kind takes from its entry as they stand. */
export function entryFields(entry: CatalogEntryBase) {
  const { name, title, description, annotations, timeoutMs, roles } = entry;
  return { name, title, description, annotations, timeoutMs, roles };
}
