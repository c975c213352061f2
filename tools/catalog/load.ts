import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "../../src/config/load.js";
import { TOOL_KINDS } from "../kinds/index.js";
import type { CatalogDiscovery, ToolKind } from "../kinds/kind.js";
import type { ToolDefinition } from "../types.js";
import { CatalogEntryBase, CatalogFile } from "./schema.js";
import { EXAMPLE_WORKSPACE, WORKSPACE_REFERENCES, resolveReferences } from "./references.js";

/** The catalog shipped in the package: the demo's tools. */
export const DEFAULT_CATALOG_FILE = fileURLToPath(new URL("../default-catalog.yaml", import.meta.url));

/** A catalog entry left out (a value it names is not configured, or the workspace could not describe it). */
export interface SkippedTool {
  name: string;
  /** Why, and what to do to offer it, e.g. "set DATABRICKS_GENIE_SPACE_ID". */
  reason: string;
}

export interface BuiltCatalog {
  tools: ToolDefinition[];
  skipped: SkippedTool[];
}

/** Reads a catalog file (YAML, or JSON by its .json name); `source` names the setting in errors. */
export function readCatalogFile(path: string, source = "MCP_TOOLS_FILE"): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ConfigError(`${source}: cannot read ${path}.`);
  }
  try {
    return path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    throw new ConfigError(`${source}: ${path} is not valid ${path.endsWith(".json") ? "JSON" : "YAML"} (${first}).`);
  }
}

function problem(source: string, where: string, issue: { path: PropertyKey[]; message: string }): ConfigError {
  const key = issue.path.map(String).join(".");
  return new ConfigError(`${source}: ${where}${key ? `.${key}` : ""}: ${issue.message}. Fix the catalog file.`);
}

/**
 * Turns a catalog into tools: each entry checked by its kind and bound to its resource. Entries naming a value that
 * is not configured are skipped (reported, never an error); anything else wrong stops start-up with what to fix.
 */
export function buildCatalog(
  raw: unknown,
  options: {
    workspace: Readonly<Record<string, unknown>>;
    timeouts?: Readonly<Record<string, number | undefined>>;
    source?: string;
  },
): BuiltCatalog {
  const source = options.source ?? "MCP_TOOLS_FILE";
  const file = CatalogFile.safeParse(raw);
  if (!file.success) throw problem(source, "tools", file.error.issues[0]!);
  const skipped: SkippedTool[] = [];
  const checked: { entry: { name: string }; kind: ToolKind<never>; where: string }[] = [];
  for (const [i, item] of file.data.tools.entries()) {
    const where = `tools[${i}] (${item.name})`;
    const kind = TOOL_KINDS.get(item.kind);
    if (!kind)
      throw new ConfigError(
        `${source}: ${where}.kind: unknown kind ${JSON.stringify(item.kind)}; use one of ${[...TOOL_KINDS.keys()].join(", ")}.`,
      );
    let resolved;
    try {
      resolved = resolveReferences(item, options.workspace, `${source}: ${where}`);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    if ("missing" in resolved) {
      skipped.push({ name: item.name, reason: `set ${WORKSPACE_REFERENCES[resolved.missing]!}` });
      continue;
    }
    if (!kind.build) {
      skipped.push({ name: item.name, reason: `${item.kind} entries are read from the workspace at start-up` });
      continue;
    }
    const base = CatalogEntryBase.loose().safeParse(resolved.value);
    if (!base.success) throw problem(source, where, base.error.issues[0]!);
    const parsed = kind.entry.safeParse(resolved.value);
    if (!parsed.success) throw problem(source, where, parsed.error.issues[0]!);
    const entry = parsed.data as { timeoutMs: number; name: string };
    const timeoutMs = options.timeouts?.[entry.name];
    checked.push({ entry: timeoutMs ? { ...entry, timeoutMs } : entry, kind, where });
  }
  const toolNames = checked.map((c) => c.entry.name);
  const tools = checked.map(({ entry, kind, where }) => {
    try {
      return kind.build!(entry as never, { toolNames });
    } catch (err) {
      throw new ConfigError(`${source}: ${where}: ${(err as Error).message}. Fix the catalog file.`);
    }
  });
  return { tools, skipped };
}

/** Where the configured catalog comes from, as errors name it: the file's path too, so a person knows what to open. */
const catalogSource = (config: { catalog: { file?: string } }) =>
  config.catalog.file ? `MCP_TOOLS_FILE (${config.catalog.file})` : "the default catalog";

/** The configured catalog (MCP_TOOLS_FILE, or the default one) bound to this configuration's resources. */
export function loadToolCatalog(
  config: {
    catalog: { file?: string };
    workspace: Readonly<Record<string, unknown>>;
    timeouts: Readonly<Record<string, number | undefined>>;
  },
  raw: unknown = readConfiguredCatalog(config),
): BuiltCatalog {
  return buildCatalog(raw, { workspace: config.workspace, timeouts: config.timeouts, source: catalogSource(config) });
}

/**
 * The configured catalog's tools as its file alone tells, with no workspace asked: what `login` signs in for, and
 * what `whoami` and `doctor` request for a role. Resources the configuration leaves unset take example names, and an
 * entry only the workspace can expand stands in as one entry of the kind it expands into.
 */
export function catalogToolsFromFile(config: {
  catalog: { file?: string };
  workspace: Readonly<Record<string, unknown>>;
}): ToolDefinition[] {
  const raw = readConfiguredCatalog(config);
  const file = CatalogFile.safeParse(raw);
  const entries = file.success
    ? {
        tools: file.data.tools.flatMap((item) => {
          const kind = TOOL_KINDS.get(item.kind);
          return kind?.standIn ? kind.standIn(item) : [item];
        }),
      }
    : raw;
  const configured = Object.entries(config.workspace).filter(([, value]) => value !== undefined && value !== "");
  return buildCatalog(entries, {
    workspace: { ...EXAMPLE_WORKSPACE, ...Object.fromEntries(configured) },
    source: catalogSource(config),
  }).tools;
}

/** Reads the configured catalog file (MCP_TOOLS_FILE), or the default one. */
export function readConfiguredCatalog(config: { catalog: { file?: string } }): unknown {
  const file = config.catalog.file;
  return readCatalogFile(file ?? DEFAULT_CATALOG_FILE, file ? "MCP_TOOLS_FILE" : "the default catalog");
}

/**
 * Completes entries that describe themselves from the workspace (a function's parameters, a schema's functions).
 * An entry the workspace cannot describe is left out and reported; the rest of the catalog stands.
 */
export async function discoverCatalog(
  raw: unknown,
  discovery: CatalogDiscovery,
): Promise<{ raw: unknown; skipped: SkippedTool[] }> {
  const file = CatalogFile.safeParse(raw);
  if (!file.success) return { raw, skipped: [] };
  const skipped: SkippedTool[] = [];
  const tools: Record<string, unknown>[] = [];
  for (const item of file.data.tools) {
    const kind = TOOL_KINDS.get(item.kind);
    if (!kind?.discover) {
      tools.push(item);
      continue;
    }
    try {
      tools.push(...(await kind.discover(item, discovery)));
    } catch (err) {
      const message = err instanceof Error ? err.message.split("\n")[0]!.slice(0, 200) : String(err);
      skipped.push({ name: item.name, reason: `the workspace could not describe it (${message})` });
    }
  }
  return { raw: { tools }, skipped };
}
