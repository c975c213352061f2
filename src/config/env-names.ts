/**
 * The environment variable a person sets for each configuration key (as src/config/load.ts maps them), so that an
 * error names what to change rather than a key path. Keys are matched by their longest listed prefix.
 */
const ENV_OF_KEY: Record<string, string> = {
  "workspace.host": "DATABRICKS_HOST",
  "workspace.warehouseId": "DATABRICKS_WAREHOUSE_ID",
  "workspace.salesTable": "MCP_SALES_TABLE",
  "workspace.auditTable": "MCP_AUDIT_TABLE",
  "workspace.genieSpaceId": "DATABRICKS_GENIE_SPACE_ID",
  "workspace.vectorIndex": "DATABRICKS_VECTOR_INDEX",
  "workspace.supervisorEndpoint": "DATABRICKS_SUPERVISOR_ENDPOINT",
  "server.transport": "MCP_TRANSPORT",
  "server.host": "MCP_HTTP_HOST",
  "server.port": "MCP_HTTP_PORT",
  "server.publicUrl": "MCP_PUBLIC_URL",
  "server.allowedOrigins": "MCP_ALLOWED_ORIGINS",
  "server.allowedHosts": "MCP_ALLOWED_HOSTS",
  "server.handleSecret": "MCP_HANDLE_SECRET",
  "identity.obo.trustProxyHeader": "MCP_TRUST_PROXY_HEADER",
  "identity.obo.audience": "MCP_OBO_AUDIENCE",
  "identity.federation.issuers": "MCP_FEDERATION_ISSUER",
  "identity.federation.issuers.0.audience": "MCP_FEDERATION_AUDIENCE",
  "identity.federation.issuers.0.jwksUri": "MCP_FEDERATION_JWKS_URI",
  "identity.federation.issuers.0.roleClaim": "MCP_FEDERATION_ROLE_CLAIM",
  "identity.federation.issuers.0.subjectTokenSource": "MCP_FEDERATION_SUBJECT_TOKEN_SOURCE",
  "identity.federation.roleToServicePrincipal": "MCP_ROLE_TO_SERVICE_PRINCIPAL",
  "identity.federation.maxTokenLifetimeS": "MCP_MAX_TOKEN_LIFETIME_S",
  "identity.m2m.clientId": "DATABRICKS_CLIENT_ID",
  "identity.m2m.clientSecret": "DATABRICKS_CLIENT_SECRET",
  "identity.m2m.allowHttpCallers": "MCP_ALLOW_ANONYMOUS_M2M",
  "identity.local.token": "DATABRICKS_TOKEN",
  "identity.local.profile": "DATABRICKS_CONFIG_PROFILE",
  "identity.local.configFile": "DATABRICKS_CONFIG_FILE",
  "identity.local.authType": "DATABRICKS_AUTH_TYPE",
  "identity.local.loginCacheFile": "MCP_LOGIN_CACHE_FILE",
  "identity.workspaceViewTtlS": "MCP_WORKSPACE_VIEW_TTL_S",
  "policy.rbac": "MCP_RBAC",
  "audit.spoolDir": "MCP_AUDIT_SPOOL_DIR",
  "audit.maxRecordBytes": "MCP_AUDIT_MAX_RECORD_BYTES",
  "audit.maxBatchBytes": "MCP_AUDIT_MAX_BATCH_BYTES",
  "audit.maxSpoolRecords": "MCP_AUDIT_SPOOL_MAX_RECORDS",
  "audit.maxSpoolBytes": "MCP_AUDIT_SPOOL_MAX_BYTES",
  "audit.pseudonymSalt": "MCP_PSEUDONYM_SALT",
  "observability.metrics": "MCP_METRICS",
  "observability.metricsToken": "MCP_METRICS_TOKEN",
  "observability.metricsHost": "MCP_METRICS_HOST",
  "observability.metricsPort": "MCP_METRICS_PORT",
  "observability.otlpTracesEndpoint": "OTEL_EXPORTER_OTLP_ENDPOINT",
  "observability.otlpHeaders": "OTEL_EXPORTER_OTLP_HEADERS",
  "observability.serviceName": "OTEL_SERVICE_NAME",
  logLevel: "LOG_LEVEL",
  logFormat: "LOG_FORMAT",
};

/** The variable behind a configuration key path (`policy.rbac.west_sales.0` → MCP_RBAC), if one exists. */
export function envNameOf(path: readonly PropertyKey[]): string | undefined {
  for (let n = path.length; n > 0; n--) {
    const name = ENV_OF_KEY[path.slice(0, n).map(String).join(".")];
    if (name) return name;
  }
  return undefined;
}

/** An example value for the JSON-valued variables, shown when one does not parse. */
export const JSON_EXAMPLES: Record<string, string> = {
  MCP_RBAC: '{"west_sales":["check_identity","query_sales_data"],"executive":["check_identity","query_audit_log"]}',
  MCP_ROLE_TO_SERVICE_PRINCIPAL: '{"west_sales":"<application-id>"}',
};
