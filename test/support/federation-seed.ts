import type { LocalWorkspace } from "../../emulator/workspace.js";

/** The service principal whose federation policy admits a role (its `role` claim), by application id. */
export function roleServicePrincipal(workspace: LocalWorkspace, role: string): string {
  const sp = workspace.context.seed.servicePrincipals.find((candidate) =>
    candidate.federationPolicies.some((p) => p.subject_claim === "role" && p.subject === role),
  );
  if (!sp) throw new Error(`no service principal of the seed admits role ${role}`);
  return sp.applicationId;
}

/** Token exchanges the local workspace has answered for a principal so far. */
export function tokenExchangesFor(workspace: LocalWorkspace, principal: string): number {
  return workspace.context.counters.tokenRequests.get(`token_exchange|${principal}`) ?? 0;
}
