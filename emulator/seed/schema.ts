import { z } from "zod";

/** Permission levels the local workspace understands, as Databricks names them. */
export const PermissionLevel = z.enum(["CAN_USE", "CAN_RUN", "CAN_QUERY", "CAN_MANAGE", "SELECT"]);

/** A grant names a principal: a user's email, a group name, or a service principal's application id. */
const Grant = z.object({ principal: z.string().min(1), level: PermissionLevel });

/** A Databricks federation policy (`oidc_policy`) on a service principal or the account. */
export const FederationPolicy = z.object({
  /** Exact issuer URL, or "local-idp" for the embedded identity provider. */
  issuer: z.string().min(1),
  /** Omitted: the account id, as Databricks defaults it. */
  audiences: z.array(z.string().min(1)).min(1).optional(),
  /** Claim that names the subject; Databricks' default is "sub". */
  subject_claim: z.string().default("sub"),
  /** Required for service principal (workload) policies; unused for account-wide user federation. */
  subject: z.string().optional(),
});
export type FederationPolicy = z.infer<typeof FederationPolicy>;

export const SeedUser = z.object({
  userName: z.string().email(),
  displayName: z.string(),
  /** Local IdP subject (for account-wide federation and the demo login page). */
  idpSubject: z.string().optional(),
  /** Role the local IdP puts in its `role` claim, if the user logs in there. */
  role: z.string().optional(),
  groups: z.array(z.string()),
});
export type SeedUser = z.infer<typeof SeedUser>;

export const SeedServicePrincipal = z.object({
  applicationId: z.string().uuid(),
  displayName: z.string(),
  /** OAuth secret for client credentials. Demo value; never a real secret. */
  secret: z.string().min(16),
  groups: z.array(z.string()),
  federationPolicies: z.array(FederationPolicy).default([]),
});
export type SeedServicePrincipal = z.infer<typeof SeedServicePrincipal>;

export const SeedIdpClient = z.object({
  clientId: z.string().min(1),
  clientSecret: z.string().min(16),
  /** Role claim the local IdP puts in this client's client-credentials tokens. */
  role: z.string(),
});

export const Seed = z.object({
  workspace: z.object({
    /** Audience the local IdP's tokens carry and the federation policies expect. */
    federationAudience: z.string().default("databricks-governed-mcp"),
    /** OAuth public client ids allowed for authorization code + PKCE (U2M). */
    publicClients: z.array(z.string()).default(["databricks-cli"]),
    /** App connections (custom OAuth app integrations) with a secret: confidential clients of authorization code + PKCE. */
    appConnections: z
      .array(
        z.object({
          clientId: z.string().min(1),
          clientSecret: z.string().min(16),
          /** Exact redirect URLs; a loopback http URL also matches on any port (RFC 8252 §7.3). */
          redirectUrls: z.array(z.string().url()).min(1),
        }),
      )
      .default([]),
    /** Served in `/.well-known/databricks-config`; the account id is also a policy's default audience. */
    accountId: z.string().uuid().default("7c1e0a5d-4b2f-4e8a-9d3c-5f6a7b8c9d0e"),
    workspaceId: z.string().regex(/^\d+$/).default("1234567890123456"),
  }),
  groups: z.array(z.string()).min(1),
  users: z.array(SeedUser).min(1),
  servicePrincipals: z.array(SeedServicePrincipal),
  accountFederationPolicies: z.array(FederationPolicy).default([]),
  idpClients: z.array(SeedIdpClient).default([]),
  warehouses: z.array(z.object({ id: z.string(), name: z.string(), permissions: z.array(Grant) })).min(1),
  tables: z.object({
    deals: z.object({
      name: z.string().default("main.sales.deals"),
      rows: z.number().int().min(1).max(200_000),
      randomSeed: z.number().int(),
      /** SQL boolean expression over the table's columns; may call current_user() and is_member(). */
      rowFilter: z.string(),
      /** Column name → SQL expression returning the visible value. */
      columnMasks: z.record(z.string(), z.string()),
      grants: z.array(Grant),
    }),
    audit: z.object({
      name: z.string().default("main.governance.mcp_audit"),
      readers: z.array(z.string()),
      writers: z.array(z.string()),
    }),
  }),
  genieSpaces: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      tables: z.array(z.string()),
      warehouseId: z.string(),
      permissions: z.array(Grant),
    }),
  ),
  vectorIndexes: z.array(
    z.object({
      name: z.string(),
      primaryKey: z.string(),
      textColumn: z.string(),
      /** The Vector Search endpoint serving the index. */
      endpointName: z.string().default("local-vector-search"),
      permissions: z.array(Grant),
      documents: z.array(z.record(z.string(), z.union([z.string(), z.number()]))),
    }),
  ),
  servingEndpoints: z.array(
    z.object({ name: z.string(), genieSpaceId: z.string(), vectorIndex: z.string(), permissions: z.array(Grant) }),
  ),
});
export type Seed = z.infer<typeof Seed>;
