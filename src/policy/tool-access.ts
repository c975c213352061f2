import type { Config, ToolName } from "../config/schema.js";
import { TOOL_NAMES } from "../config/schema.js";
import type { CallerIdentity } from "../identity/types.js";

/**
 * Which tools a caller may use. Federation: the role's row of the RBAC matrix (an unknown role gets nothing).
 * OBO and local user modes: Unity Catalog decides unless a tool list is configured. M2M: its configured set.
 */
export function allowedTools(identity: CallerIdentity, config: Config): readonly ToolName[] {
  switch (identity.mode) {
    case "federation":
      return identity.role ? (config.policy.rbac[identity.role] ?? []) : [];
    case "obo":
    case "pat":
    case "u2m":
      if (identity.role && config.policy.rbac[identity.role]) return config.policy.rbac[identity.role]!;
      return config.identity.obo.tools ?? TOOL_NAMES;
    case "m2m":
      return config.identity.m2m.tools;
  }
}
