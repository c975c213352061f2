import type { Seed } from "./seed/schema.js";

/** The demo identities of a seed, as printed by `npm run emulator` (demo secrets only: this is a local playground). */
export function describeIdentities(seed: Seed, idpIssuer: string) {
  const resolveIssuer = (issuer: string) => (issuer === "local-idp" ? idpIssuer : issuer);
  return {
    users: seed.users.map((u) => ({
      user_name: u.userName,
      display_name: u.displayName,
      groups: u.groups,
      idp_subject: u.idpSubject,
      role: u.role,
    })),
    groups: seed.groups,
    service_principals: seed.servicePrincipals.map((sp) => ({
      display_name: sp.displayName,
      application_id: sp.applicationId,
      client_id: sp.applicationId,
      client_secret: sp.secret,
      groups: sp.groups,
      federation_policies: sp.federationPolicies.map((p) => ({ ...p, issuer: resolveIssuer(p.issuer) })),
    })),
    account_federation_policies: seed.accountFederationPolicies.map((p) => ({ ...p, issuer: resolveIssuer(p.issuer) })),
    idp_clients: seed.idpClients.map((c) => ({ client_id: c.clientId, client_secret: c.clientSecret, role: c.role })),
    warehouse_id: seed.warehouses[0]!.id,
    genie_space_id: seed.genieSpaces[0]?.id,
    vector_index: seed.vectorIndexes[0]?.name,
    serving_endpoint: seed.servingEndpoints[0]?.name,
  };
}
