import type { Seed } from "./seed/schema.js";
import type { Principal } from "./principal.js";

type Grant = { principal: string; level: string };

/** Users, groups and service principals of the seeded workspace, and who holds which permission. */
export class Directory {
  constructor(readonly seed: Seed) {}

  userByName(userName: string) {
    return this.seed.users.find((u) => u.userName.toLowerCase() === userName.toLowerCase());
  }

  servicePrincipal(applicationId: string) {
    return this.seed.servicePrincipals.find((sp) => sp.applicationId === applicationId);
  }

  /** The principal a token for this user or service principal stands for (scopes and expiry set by the caller). */
  principalFor(name: string, scopes: string[], expiresAt: number): Principal | undefined {
    const user = this.userByName(name);
    if (user)
      return {
        kind: "user",
        name: user.userName,
        displayName: user.displayName,
        groups: user.groups,
        scopes,
        expiresAt,
      };
    const sp = this.servicePrincipal(name);
    if (sp)
      return {
        kind: "service_principal",
        name: sp.applicationId,
        displayName: sp.displayName,
        groups: sp.groups,
        scopes,
        expiresAt,
      };
    return undefined;
  }

  groupsOf(name: string): string[] {
    return this.userByName(name)?.groups ?? this.servicePrincipal(name)?.groups ?? [];
  }

  /** True when the grant list gives `principal` (directly or through a group) one of `levels`. */
  allows(grants: Grant[], principal: Principal, ...levels: string[]): boolean {
    const names = new Set([principal.name, ...principal.groups]);
    return grants.some((g) => names.has(g.principal) && (levels.includes(g.level) || g.level === "CAN_MANAGE"));
  }
}
