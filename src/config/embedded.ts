import type { Seed } from "../../emulator/seed/schema.js";

/**
 * The configuration that points the server at an embedded local workspace: its host, warehouse, Genie space,
 * the local IdP as the Federation issuer, each role's service principal, and the server's own service principal.
 * Environment variables and MCP_CONFIG_FILE still override these values.
 */
export function embeddedConfigBase(
  seed: Seed,
  workspaceUrl: string,
  idpIssuer: string,
  idpJwksUri: string,
): Record<string, unknown> {
  const roleToServicePrincipal: Record<string, string> = {};
  for (const sp of seed.servicePrincipals) {
    for (const policy of sp.federationPolicies) {
      if (policy.subject_claim === "role" && policy.subject) roleToServicePrincipal[policy.subject] = sp.applicationId;
    }
  }
  const serverSp = seed.servicePrincipals.find((sp) => sp.displayName === "mcp-server-sp");
  return {
    workspace: {
      host: workspaceUrl,
      warehouseId: seed.warehouses[0]!.id,
      salesTable: seed.tables.deals.name,
      auditTable: seed.tables.audit.name,
      genieSpaceId: seed.genieSpaces[0]?.id,
      vectorIndex: seed.vectorIndexes[0]?.name,
      supervisorEndpoint: seed.servingEndpoints[0]?.name,
    },
    identity: {
      federation: {
        issuers: [
          {
            issuer: idpIssuer,
            jwksUri: idpJwksUri,
            audience: seed.workspace.federationAudience,
            roleClaim: "role",
            subjectTokenSource: "caller",
          },
        ],
        roleToServicePrincipal,
      },
      m2m: serverSp ? { clientId: serverSp.applicationId, clientSecret: serverSp.secret } : {},
    },
  };
}
