import type { Seed } from "../../emulator/seed/schema.js";
import { LOCAL_WORKSPACE_QUOTA, LOCAL_WORKSPACE_QUOTA_ENV } from "../quota/local-workspace.js";

/** Where a running local workspace and its identity provider listen. */
export interface LocalWorkspaceUrls {
  workspaceUrl: string;
  idpIssuer: string;
  idpJwksUri: string;
}

/** What the server needs to know of a seeded local workspace: its resources, roles and service principals. */
function seedSettings(seed: Seed) {
  const roleToServicePrincipal: Record<string, string> = {};
  for (const sp of seed.servicePrincipals) {
    for (const policy of sp.federationPolicies) {
      if (policy.subject_claim === "role" && policy.subject) roleToServicePrincipal[policy.subject] = sp.applicationId;
    }
  }
  const serverSp = seed.servicePrincipals.find((sp) => sp.displayName === "mcp-server-sp");
  return {
    warehouseId: seed.warehouses[0]!.id,
    salesTable: seed.tables.deals.name,
    auditTable: seed.tables.audit.name,
    genieSpaceId: seed.genieSpaces[0]?.id,
    vectorIndex: seed.vectorIndexes[0]?.name,
    supervisorEndpoint: seed.servingEndpoints[0]?.name,
    audience: seed.workspace.federationAudience,
    roleToServicePrincipal,
    serverSp,
  };
}

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
  const s = seedSettings(seed);
  return {
    workspace: {
      host: workspaceUrl,
      warehouseId: s.warehouseId,
      salesTable: s.salesTable,
      auditTable: s.auditTable,
      genieSpaceId: s.genieSpaceId,
      vectorIndex: s.vectorIndex,
      supervisorEndpoint: s.supervisorEndpoint,
    },
    identity: {
      federation: {
        issuers: [
          {
            issuer: idpIssuer,
            jwksUri: idpJwksUri,
            audience: s.audience,
            roleClaim: "role",
            subjectTokenSource: "caller",
            // offline_access: the local IdP gives public clients rotating refresh tokens, so nobody signs in hourly.
            clientScopes: ["openid", "offline_access"],
          },
        ],
        roleToServicePrincipal: s.roleToServicePrincipal,
      },
      m2m: s.serverSp ? { clientId: s.serverSp.applicationId, clientSecret: s.serverSp.secret } : {},
    },
    quota: LOCAL_WORKSPACE_QUOTA,
  };
}

/**
 * The environment of a server process that uses a running local workspace as an operator would use a real one
 * (DATABRICKS_HOST set, nothing embedded): the same settings as embeddedConfigBase, as environment variables.
 */
export function localWorkspaceEnvironment(seed: Seed, urls: LocalWorkspaceUrls): Record<string, string> {
  const s = seedSettings(seed);
  const env: Record<string, string | undefined> = {
    DATABRICKS_HOST: urls.workspaceUrl,
    DATABRICKS_WAREHOUSE_ID: s.warehouseId,
    DATABRICKS_GENIE_SPACE_ID: s.genieSpaceId,
    DATABRICKS_VECTOR_INDEX: s.vectorIndex,
    DATABRICKS_SUPERVISOR_ENDPOINT: s.supervisorEndpoint,
    MCP_SALES_TABLE: s.salesTable,
    MCP_AUDIT_TABLE: s.auditTable,
    DATABRICKS_CLIENT_ID: s.serverSp?.applicationId,
    DATABRICKS_CLIENT_SECRET: s.serverSp?.secret,
    MCP_FEDERATION_ISSUER: urls.idpIssuer,
    MCP_FEDERATION_JWKS_URI: urls.idpJwksUri,
    MCP_FEDERATION_AUDIENCE: s.audience,
    MCP_ROLE_TO_SERVICE_PRINCIPAL: JSON.stringify(s.roleToServicePrincipal),
    ...LOCAL_WORKSPACE_QUOTA_ENV,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}
