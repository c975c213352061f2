/** The scope that stands for every API. */
export const ALL_APIS = "all-apis";

/** A tool as scope decisions see it: its name and the workspace scopes its API calls need. */
export interface ScopedTool {
  name: string;
  scopes: readonly string[];
}

/** The least-privilege set to request: the union of the scopes the given tools need. */
export function scopesFor(tools: readonly { scopes: readonly string[] }[]): string[] {
  return [...new Set(tools.flatMap((t) => t.scopes))].sort();
}

/** The scopes a tool needs that a credential lacks (empty when allowed). `all-apis` covers everything. */
export function missingScopes(granted: readonly string[], needed: readonly string[]): string[] {
  if (granted.includes(ALL_APIS)) return [];
  return needed.filter((scope) => !granted.includes(scope));
}
