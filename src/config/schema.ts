import { z } from "zod";
import { MIN_HANDLE_SECRET_BYTES } from "../policy/conversation-handle.js";
import { DEFAULT_PSEUDONYM_SALT } from "../audit/pseudonym.js";
import { QuotaSchema } from "../quota/schema.js";
import { IdpOboSchema } from "./idp-obo-schema.js";
import { BrokerSchema } from "./broker-schema.js";

/** A tool's name as catalogs spell it; which names exist is the catalog's business (tools/catalog). */
export const ToolName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, "a tool name is lower_snake_case");
export type ToolName = z.infer<typeof ToolName>;

/** A whole number the operator sets, within bounds; the message names the variable and what to change. */
function wholeNumberIn(variable: string, min: number, max?: { at: number; note?: string }) {
  const atLeast = z
    .number()
    .int()
    .min(min, { message: `${variable} must be at least ${min}` });
  return max === undefined
    ? atLeast
    : atLeast.max(max.at, { message: `${variable} must be at most ${max.at}${max.note ? ` (${max.note})` : ""}` });
}

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
  exchangeFor: z
    .enum(["role", "user", "user-if-known"])
    .default("role")
    .describe(
      "Whose workspace token a caller's JWT is exchanged for: the role's service principal, the user named by `userClaim` (account federation policy), or the user when the workspace knows them and the role otherwise.",
    ),
  userClaim: z
    .string()
    .default("email")
    .describe("Claim naming the workspace user (the account federation policy's subject claim), for exchangeFor user."),
});

export const ConfigSchema = z.object({
  workspace: z.object({
    host: z.string().url().optional().describe("Workspace URL; unset starts the embedded local workspace."),
    warehouseId: z.string().min(1).describe("SQL warehouse for query_sales_data and query_audit_log."),
    salesTable: z.string().default("main.sales.deals"),
    auditTable: z.string().default("main.governance.mcp_audit"),
    genieSpaceId: z.string().min(1).optional().describe("Genie space of genie_query; unset: that tool is not offered."),
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
      handleSecret: z
        .string()
        .refine((secret) => Buffer.byteLength(secret, "utf8") >= MIN_HANDLE_SECRET_BYTES, {
          message: `MCP_HANDLE_SECRET must be at least ${MIN_HANDLE_SECRET_BYTES} bytes (for example 64 hex characters)`,
        })
        .optional()
        .describe(
          "Key of the signed Genie conversation handles; the same on every replica. Unset: random per process.",
        ),
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
          audience: z
            .string()
            .min(1)
            .optional()
            .describe(
              "OAuth client id (`client_id` claim) or audience (`aud`) an OBO token must carry; unset: any workspace token.",
            ),
        })
        .prefault({}),
      federation: z
        .object({
          issuers: z
            .array(FederationIssuer)
            .default([])
            .refine((list) => new Set(list.map((i) => i.issuer)).size === list.length, {
              message: "each issuer may be listed once",
            }),
          roleToServicePrincipal: z
            .record(z.string(), z.string())
            .default({})
            .describe("Role → service principal application id."),
          clockToleranceS: z.number().int().min(0).max(60).default(30),
          maxTokenBytes: z.number().int().positive().max(65_536).default(8192),
          maxTokenLifetimeS: z
            .number()
            .int()
            .positive()
            .default(86_400)
            .describe("Longest inbound token lifetime accepted (exp − iat), for Federation and OBO bearers."),
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
      idpObo: IdpOboSchema.optional().describe("IdP on-behalf-of (Entra ID in front of Azure Databricks); unset: off."),
      broker: BrokerSchema.optional().describe("The server brokers users' workspace sign-in; unset: off."),
      m2m: z
        .object({
          clientId: z.string().optional(),
          clientSecret: z.string().optional(),
          allowHttpCallers: z
            .boolean()
            .default(false)
            .describe("Let unauthenticated HTTP callers act as the server's SP. Dangerous."),
          tools: z.array(ToolName).optional().describe("Tools the server's own identity may use; unset: all."),
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
          maxEntries: z
            .number()
            .int()
            .positive()
            .default(10_000)
            .describe(
              "Callers remembered: bounds the token cache, verified bearers, workspace views, pseudonyms and quota keys alike.",
            ),
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
      rbac: z
        .record(z.string(), z.array(ToolName))
        .optional()
        .describe("Role → tools (MCP_RBAC); unset: the roles each catalog entry names."),
    })
    .prefault({}),
  audit: z
    .object({
      spoolDir: z.string().default(".spool"),
      batchSize: z
        .number()
        .int()
        .positive()
        .max(1000)
        .default(1000)
        .describe("Records per audit INSERT at most: each is a Delta commit, so fewer, larger batches cost less."),
      flushIntervalMs: wholeNumberIn("MCP_AUDIT_FLUSH_INTERVAL_MS", 50, { at: 3_600_000, note: "an hour" })
        .default(5000)
        .describe(
          "At the latest this long after a record is spooled, the writer sends what waited to the table; a batch's " +
            "worth goes at once. Each INSERT is a Delta commit with a fixed cost on the warehouse.",
        ),
      commitDelayMs: wholeNumberIn("MCP_AUDIT_COMMIT_DELAY_MS", 0, { at: 1000 })
        .default(10)
        .describe("At the latest this long after a call's intent or outcome is spooled, it is on disk (group commit)."),
      maxArgumentChars: z.number().int().positive().default(512),
      maxRecordBytes: wholeNumberIn("MCP_AUDIT_MAX_RECORD_BYTES", 8192, { at: 1_048_576 })
        .default(16_384)
        .describe(
          "Ceiling of one audit record as the INSERT carries it; larger arguments become a preview and a digest.",
        ),
      maxBatchBytes: wholeNumberIn("MCP_AUDIT_MAX_BATCH_BYTES", 65_536, {
        at: 15_728_640,
        note: "the workspace takes 16 MiB",
      })
        .default(1_000_000)
        .describe(
          "Ceiling of one INSERT request to the audit table, under the 1 MB of parameter values Databricks' connectors document.",
        ),
      maxSpoolRecords: wholeNumberIn("MCP_AUDIT_SPOOL_MAX_RECORDS", 100)
        .default(100_000)
        .describe("Tool calls are refused (AUDIT_UNAVAILABLE) while this many records wait for the table."),
      maxSpoolBytes: wholeNumberIn("MCP_AUDIT_SPOOL_MAX_BYTES", 1_048_576)
        .default(67_108_864)
        .describe("Tool calls are refused (AUDIT_UNAVAILABLE) while this many bytes of records wait for the table."),
      pseudonymSalt: z
        .string()
        .min(1, { message: "MCP_PSEUDONYM_SALT must not be empty" })
        .default(DEFAULT_PSEUDONYM_SALT)
        .describe("Salt of the human's pseudonym in query tags; the same on every replica, so pseudonyms join."),
    })
    .prefault({}),
  timeouts: z
    .record(ToolName, z.number().int().positive())
    .default({})
    .describe("Per-tool call deadline in ms, over the catalog entry's timeoutMs."),
  catalog: z
    .object({
      file: z
        .string()
        .min(1)
        .optional()
        .describe("MCP_TOOLS_FILE: a YAML or JSON tool catalog; unset: the demo's tools."),
    })
    .prefault({}),
  observability: z
    .object({
      metrics: z
        .boolean()
        .default(true)
        .describe("Serve Prometheus metrics at /metrics on the HTTP port (no person or token in any label)."),
      metricsToken: z
        .string()
        .min(16, { message: "MCP_METRICS_TOKEN must be at least 16 characters" })
        .optional()
        .describe("When set, /metrics answers only requests with `Authorization: Bearer <token>`."),
      metricsHost: z.string().min(1).optional().describe("Address of a listener of its own for /metrics (127.0.0.1)."),
      metricsPort: z
        .number()
        .int()
        .min(0)
        .max(65535)
        .optional()
        .describe("When set, /metrics is served only on this port (on metricsHost), and the MCP port answers 404."),
      otlpTracesEndpoint: z
        .string()
        .url()
        .optional()
        .describe("OTLP/HTTP traces URL (OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces); unset, no spans are exported."),
      otlpHeaders: z.record(z.string(), z.string()).default({}).describe("Headers of OTLP export requests."),
      serviceName: z.string().min(1).default("databricks-governed-mcp").describe("service.name of exported spans."),
    })
    .prefault({}),
  quota: QuotaSchema.describe("Limits per caller, per tool and per upstream, shared by replicas (docs/quotas.md)."),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  logFormat: z.enum(["json", "pretty"]).default("json"),
});

export type Config = z.infer<typeof ConfigSchema>;
export type FederationIssuerConfig = Config["identity"]["federation"]["issuers"][number];
