import type { Config } from "../config/schema.js";
import type { CallerIdentity } from "../identity/types.js";
import { scopesFor, type ScopedTool } from "./scopes.js";

/** What tool access depends on: how the caller came in, and its role. */
export type AccessSubject = Pick<CallerIdentity, "mode" | "role">;

/** A tool as access decisions see it: its name, the scopes it needs, and the roles its catalog entry names. */
export interface GovernedTool extends ScopedTool {
  roles?: readonly string[];
}

/** Who may use which tool: the roles' side of the catalog (or MCP_RBAC), and the OBO and M2M lists. */
export interface AccessRules {
  rbac: Readonly<Record<string, readonly string[]>>;
  /** OBO and local callers without a matrix role; unset: every tool (Unity Catalog decides). */
  obo?: readonly string[];
  m2m: readonly string[];
  all: readonly string[];
}

/** The rules from the catalog's entries and the configuration; names of tools the catalog does not offer drop out. */
export function accessRules(tools: readonly GovernedTool[], config: Config): AccessRules {
  const all = tools.map((t) => t.name);
  const offered = (names: readonly string[]) => names.filter((n) => all.includes(n));
  const rbac: Record<string, string[]> = {};
  if (config.policy.rbac) {
    for (const [role, names] of Object.entries(config.policy.rbac)) rbac[role] = offered(names);
  } else {
    for (const tool of tools) for (const role of tool.roles ?? []) (rbac[role] ??= []).push(tool.name);
  }
  const { obo, m2m } = config.identity;
  return {
    rbac,
    obo: obo.tools ? offered(obo.tools) : undefined,
    m2m: m2m.tools ? offered(m2m.tools) : all,
    all,
  };
}

/**
 * Which tools a caller may use. Federation: the role's row of the matrix (an unknown role gets nothing).
 * OBO and local user modes: Unity Catalog decides unless a role row or a tool list is configured. M2M: its set.
 */
export function allowedTools(identity: AccessSubject, rules: AccessRules): readonly string[] {
  switch (identity.mode) {
    case "federation":
      return identity.role ? (rules.rbac[identity.role] ?? []) : [];
    case "obo":
    case "federation-user":
    case "idp-obo":
    case "brokered":
    case "pat":
    case "u2m":
      if (identity.role && rules.rbac[identity.role]) return rules.rbac[identity.role]!;
      return rules.obo ?? rules.all;
    case "m2m":
      return rules.m2m;
  }
}

/** The scopes a workspace token obtained for this caller requests: those of the tools it may call, and no more. */
export function scopesToRequest(identity: AccessSubject, config: Config, tools: readonly GovernedTool[]): string[] {
  const allowed = new Set<string>(allowedTools(identity, accessRules(tools, config)));
  return scopesFor(tools.filter((tool) => allowed.has(tool.name)));
}
