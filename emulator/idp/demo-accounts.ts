import type { Seed, SeedUser } from "../seed/schema.js";

/** A seed user who can log in at the local IdP (has an IdP subject). */
export interface DemoAccount {
  subject: string;
  email: string;
  displayName: string;
  role?: string;
}

/** Seed users with an `idpSubject`, in seed order (the login page lists them). */
export function demoAccounts(seed: Seed): DemoAccount[] {
  return seed.users
    .filter((user): user is SeedUser & { idpSubject: string } => user.idpSubject !== undefined)
    .map(toAccount);
}

export function findDemoAccount(seed: Seed, subject: string): DemoAccount | undefined {
  return demoAccounts(seed).find((account) => account.subject === subject);
}

/** Role that a client-credentials token of this IdP client carries. */
export function roleOfIdpClient(seed: Seed, clientId: string): string | undefined {
  return seed.idpClients.find((client) => client.clientId === clientId)?.role;
}

function toAccount(user: SeedUser & { idpSubject: string }): DemoAccount {
  return {
    subject: user.idpSubject,
    email: user.userName,
    displayName: user.displayName,
    ...(user.role === undefined ? {} : { role: user.role }),
  };
}
