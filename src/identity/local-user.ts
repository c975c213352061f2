import type { ResolvedCaller } from "./types.js";

/** What SCIM `Me` says of a principal (the fields this needs). */
export interface WorkspaceMe {
  userName?: unknown;
  applicationId?: unknown;
}

/**
 * A stdio caller whose credential names no one (a PAT, a profile token) gets its human and workspace principal
 * from the workspace itself, once at start, so its audit rows say who acted. A lookup that fails leaves them unset.
 */
export async function withWorkspaceUser(
  caller: ResolvedCaller,
  lookup: () => Promise<WorkspaceMe>,
): Promise<{ caller: ResolvedCaller; looked: boolean }> {
  const { identity } = caller;
  if (identity.mode === "m2m" || identity.mode === "federation" || identity.human) return { caller, looked: false };
  try {
    const me = await lookup();
    const userName = typeof me.userName === "string" ? me.userName : undefined;
    const principal = userName ?? (typeof me.applicationId === "string" ? me.applicationId : undefined);
    return {
      caller: { ...caller, identity: { ...identity, human: userName, expectedPrincipal: principal } },
      looked: true,
    };
  } catch {
    return { caller, looked: false };
  }
}
