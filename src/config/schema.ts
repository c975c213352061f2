import { z } from "zod";

export const TOOL_NAMES = [
  "check_identity",
  "query_sales_data",
  "genie_query",
  "query_knowledge_base",
  "query_audit_log",
  "ask_supervisor",
] as const;
export const ToolName = z.enum(TOOL_NAMES);
export type ToolName = z.infer<typeof ToolName>;

/** The default role → tools matrix (DESIGN.md). */
export const DEFAULT_RBAC: Record<string, ToolName[]> = {
  west_sales: ["check_identity", "query_sales_data", "genie_query", "query_knowledge_base"],
  east_sales: ["check_identity", "query_sales_data", "genie_query", "query_knowledge_base"],
  managers: ["check_identity", "query_sales_data", "genie_query", "query_knowledge_base"],
  executive: [...TOOL_NAMES],
  finance: ["check_identity", "query_sales_data", "genie_query", "query_knowledge_base", "query_audit_log"],
  admin: [...TOOL_NAMES],
};

const FederationIssuer = z.object({
  issuer: z.string().url().describe("Exact `iss` of the external IdP; a trailing slash matters."),
  audience: z.string().min(1).describe("Required `aud` of inbound tokens."),
  jwksUri: z.string().url().optional().describe("JWKS URL; discovered from the issuer when absent."),
  algorithms: z
    .array(z.enum(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]))
    .min(1)
    .default(["RS256"])
    .describe("Allowed signature algorithms; never `none` or HMAC."),
  roleClaim: z.string().default("role").describe("Claim path of the role, dot-separated (e.g. `realm_access.role`)."),
  subjectTokenSource: z
    .enum(["caller", "idp-client-credentials"])
    .default("caller")
    .describe("Exchange the caller's own JWT, or a per-role IdP client-credentials token."),
  idpClients: z
    .record(z.string(), z.object({ clientId: z.string(), clientSecret: z.string() }))
    .default({})
    .describe("Per-role IdP clients, for subjectTokenSource=idp-client-credentials."),
  clientScopes: z
    .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/))
    .default(["openid"])
    .describe("Scopes an MCP client asks this IdP for at sign-in (named in the 401 challenge)."),
});

export const ConfigSchema = z.object({
  workspace: z.object({
    host: z.string().url().optional().describe("Workspace URL; unset starts the embedded local workspace."),
    warehouseId: z.string().min(1).describe("SQL warehouse for query_sales_data and query_audit_log."),
    salesTable: z.string().default("main.sales.deals"),
    auditTable: z.string().default("main.governance.mcp_audit"),
    genieSpaceId: z.string().min(1),
    vectorIndex: z.string().default("main.knowledge.docs_index"),
    supervisorEndpoint: z.string().default("sales-supervisor-agent"),
  }),
  server: z
    .object({
      transport: z.enum(["stdio", "http"]).default("stdio"),
      host: z.string().default("127.0.0.1").describe("HTTP bind address; loopback unless deliberately exposed."),
      port: z.number().int().min(0).max(65535).default(3000),
      path: z.string().default("/mcp"),
      publicUrl: z.string().url().optional().describe("External URL of the server, for protected-resource metadata."),
      allowedOrigins: z.array(z.string()).default([]).describe("Origins allowed besides loopback ones."),
      allowedHosts: z.array(z.string()).default([]).describe("Host header values allowed besides loopback ones."),
      maxBodyBytes: z.number().int().positive().default(1_048_576),
      shutdownDeadlineMs: z.number().int().positive().default(10_000),
    })
    .prefault({}),
  identity: z
    .object({
      obo: z
        .object({
          trustProxyHeader: z
            .boolean()
            .default(false)
            .describe("Trust x-forwarded-access-token (only behind the Databricks Apps proxy)."),
          acceptWorkspaceBearer: z.boolean().default(true),
          tools: z.array(ToolName).optional().describe("Tools OBO callers may use; unset: all, Unity Catalog decides."),
        })
        .prefault({}),
      federation: z
        .object({
          issuers: z.array(FederationIssuer).default([]),
          roleToServicePrincipal: z
            .record(z.string(), z.string())
            .default({})
            .describe("Role → service principal application id."),
          clockToleranceS: z.number().int().min(0).max(60).default(30),
          maxTokenBytes: z.number().int().positive().max(65_536).default(8192),
          jwks: z
            .object({
              cooldownMs: z
                .number()
                .int()
                .min(0)
                .default(30_000)
                .describe("No JWKS refetch for an unknown kid sooner than this after the last fetch."),
              cacheMaxAgeMs: z
                .number()
                .int()
                .positive()
                .default(600_000)
                .describe("JWKS refetched once older than this; the last keys keep working while the IdP is down."),
            })
            .prefault({}),
        })
        .prefault({}),
      m2m: z
        .object({
          clientId: z.string().optional(),
          clientSecret: z.string().optional(),
          allowHttpCallers: z
            .boolean()
            .default(false)
            .describe("Let unauthenticated HTTP callers act as the server's SP. Dangerous."),
          tools: z.array(ToolName).default([...TOOL_NAMES]),
        })
        .prefault({}),
      local: z
        .object({
          token: z.string().optional().describe("DATABRICKS_TOKEN (stdio only)."),
          profile: z.string().optional().describe("DATABRICKS_CONFIG_PROFILE (stdio only)."),
          configFile: z.string().optional().describe("DATABRICKS_CONFIG_FILE; default ~/.databrickscfg."),
          authType: z
            .enum(["pat", "oauth-m2m", "external-browser"])
            .optional()
            .describe("DATABRICKS_AUTH_TYPE: pins the stdio identity; unset picks token, profile, login, then M2M."),
          loginCacheFile: z
            .string()
            .optional()
            .describe("Where `login` keeps tokens (mode 0600); default ~/.config/databricks-governed-mcp/tokens.json."),
          loginClientId: z
            .string()
            .default("databricks-cli")
            .describe("Public OAuth client (no secret) used by `login` with Authorization Code + PKCE."),
        })
        .prefault({}),
      tokenCache: z
        .object({
          maxEntries: z.number().int().positive().default(10_000),
          refreshMarginS: z.number().int().min(0).default(60),
        })
        .prefault({}),
      workspaceViewTtlS: z
        .number()
        .int()
        .min(0)
        .default(60)
        .describe(
          "How long check_identity reuses what the workspace said about a token (principal, groups); 0 asks every time.",
        ),
    })
    .prefault({}),
  policy: z
    .object({
      rbac: z.record(z.string(), z.array(ToolName)).default(DEFAULT_RBAC),
    })
    .prefault({}),
  audit: z
    .object({
      spoolDir: z.string().default(".spool"),
      batchSize: z.number().int().positive().max(1000).default(100),
      flushIntervalMs: z.number().int().positive().default(500),
      maxArgumentChars: z.number().int().positive().default(512),
    })
    .prefault({}),
  timeouts: z
    .object({
      check_identity: z.number().int().positive().default(15_000),
      query_sales_data: z.number().int().positive().default(60_000),
      genie_query: z.number().int().positive().default(120_000),
      query_knowledge_base: z.number().int().positive().default(20_000),
      query_audit_log: z.number().int().positive().default(60_000),
      ask_supervisor: z.number().int().positive().default(120_000),
    })
    .prefault({}),
  observability: z
    .object({
      metrics: z
        .boolean()
        .default(true)
        .describe("Serve Prometheus metrics at /metrics on the HTTP port (no person or token in any label)."),
    })
    .prefault({}),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  logFormat: z.enum(["json", "pretty"]).default("json"),
});

export type Config = z.infer<typeof ConfigSchema>;
export type FederationIssuerConfig = Config["identity"]["federation"]["issuers"][number];
