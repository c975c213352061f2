import type { Config, ToolName } from "../config/schema.js";
import { TOOL_NAMES } from "../config/schema.js";
import type { CallerIdentity } from "../identity/types.js";
import { scopesFor, type ScopedTool } from "./scopes.js";

/** What tool access depends on: how the caller came in, and its role. */
export type AccessSubject = Pick<CallerIdentity, "mode" | "role">;

/**
 * Which tools a caller may use. Federation: the role's row of the RBAC matrix (an unknown role gets nothing).
 * OBO and local user modes: Unity Catalog decides unless a tool list is configured. M2M: its configured set.
 */
export function allowedTools(identity: AccessSubject, config: Config): readonly ToolName[] {
  switch (identity.mode) {
    case "federation":
      return identity.role ? (config.policy.rbac[identity.role] ?? []) : [];
    case "obo":
    case "federation-user":
    case "idp-obo":
    case "brokered":
    case "pat":
    case "u2m":
      if (identity.role && config.policy.rbac[identity.role]) return config.policy.rbac[identity.role]!;
      return config.identity.obo.tools ?? TOOL_NAMES;
    case "m2m":
      return config.identity.m2m.tools;
  }
}

/** The scopes a workspace token obtained for this caller requests: those of the tools it may call, and no more. */
export function scopesToRequest(identity: AccessSubject, config: Config, tools: readonly ScopedTool[]): string[] {
  const allowed = new Set<string>(allowedTools(identity, config));
  return scopesFor(tools.filter((tool) => allowed.has(tool.name)));
}
