import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { ConfigSchema, type Config } from "./schema.js";
import { ErrorCodes, InputError } from "../errors.js";
import { workspaceHostProblem } from "./workspace-host.js";
import { envNameLookup, JSON_EXAMPLES } from "./env-names.js";
import { defaultSpoolDir } from "./state-dir.js";
import { assertNoPlaceholders, withPublicUrlHost } from "./deployment-values.js";
import { otlpTracesEndpoint, parseOtlpHeaders } from "../observability/otlp-export.js";
import { userFederationProblem } from "./user-federation.js";
import { idpOboProblem } from "./idp-obo-schema.js";
import { brokerProblem } from "./broker-schema.js";

type Env = Record<string, string | undefined>;
type Json = Record<string, unknown>;

/** Fails start-up with the key and the fix; the process never runs half-configured. */
export class ConfigError extends InputError {
  constructor(message: string) {
    super(ErrorCodes.CONFIG_INVALID, message);
  }
}

function bool(env: Env, key: string): boolean | undefined {
  const v = env[key];
  if (v === undefined || v === "") return undefined;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new ConfigError(`${key} must be true or false, got ${JSON.stringify(v)}.`);
}

function int(env: Env, key: string): number | undefined {
  const v = env[key];
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ConfigError(`${key} must be an integer, got ${JSON.stringify(v)}.`);
  return n;
}

function json(env: Env, key: string, example = "{}"): unknown {
  const v = env[key];
  if (v === undefined || v === "") return undefined;
  try {
    return JSON.parse(v);
  } catch {
    throw new ConfigError(`${key} must be JSON (for example ${JSON_EXAMPLES[key] ?? example}).`);
  }
}

function list(env: Env, key: string): string[] | undefined {
  const v = env[key];
  return v
    ? v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
}

/** Drops undefined leaves so that file values and schema defaults show through. */
function prune(value: unknown): unknown {
  if (Array.isArray(value) || value === null || typeof value !== "object") return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    const p = prune(v);
    if (p !== undefined && !(typeof p === "object" && p !== null && !Array.isArray(p) && Object.keys(p).length === 0))
      out[k] = p;
  }
  return out;
}

/** Deep merge of plain objects; arrays and scalars of `over` replace those of `base`. */
export function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      b && typeof b === "object" && !Array.isArray(b) && v && typeof v === "object" && !Array.isArray(v)
        ? merge(b as Json, v as Json)
        : v;
  }
  return out;
}

/** DATABRICKS_HOST as a URL (Databricks Apps may set a bare host name; the SDKs read it as https), checked. */
function workspaceHost(env: Env): string | undefined {
  const raw = env.DATABRICKS_HOST?.trim();
  if (!raw) return undefined;
  const url = raw.replace(/\/+$/, "").replace(/^(?![a-z][a-z0-9+.-]*:\/\/)/i, "https://");
  const problem = workspaceHostProblem(url);
  if (problem)
    throw new ConfigError(
      `DATABRICKS_HOST ${problem}: set it to your workspace URL, for example https://dbc-1234abcd-5678.cloud.databricks.com.`,
    );
  return url;
}

/** The configuration the environment states (file values underneath). Databricks unified-auth names where they exist. */
export function fromEnv(env: Env): Json {
  const federationIssuer = env.MCP_FEDERATION_ISSUER;
  return prune({
    workspace: {
      // Databricks Apps may set a bare host name; the SDKs read it as https.
      host: workspaceHost(env),
      warehouseId: env.DATABRICKS_WAREHOUSE_ID,
      salesTable: env.MCP_SALES_TABLE,
      auditTable: env.MCP_AUDIT_TABLE,
      genieSpaceId: env.DATABRICKS_GENIE_SPACE_ID,
      vectorIndex: env.DATABRICKS_VECTOR_INDEX,
      supervisorEndpoint: env.DATABRICKS_SUPERVISOR_ENDPOINT,
    },
    server: {
      transport: env.MCP_TRANSPORT,
      host: env.MCP_HTTP_HOST,
      port: int(env, "MCP_HTTP_PORT") ?? int(env, "DATABRICKS_APP_PORT"),
      publicUrl: env.MCP_PUBLIC_URL,
      allowedOrigins: list(env, "MCP_ALLOWED_ORIGINS"),
      allowedHosts: list(env, "MCP_ALLOWED_HOSTS"),
      handleSecret: env.MCP_HANDLE_SECRET,
    },
    identity: {
      obo: {
        // Databricks Apps sets DATABRICKS_APP_NAME; only there is the proxy header trusted by default.
        trustProxyHeader: bool(env, "MCP_TRUST_PROXY_HEADER") ?? (env.DATABRICKS_APP_NAME ? true : undefined),
        audience: env.MCP_OBO_AUDIENCE,
      },
      federation: {
        issuers: federationIssuer
          ? [
              prune({
                issuer: federationIssuer,
                audience: env.MCP_FEDERATION_AUDIENCE,
                jwksUri: env.MCP_FEDERATION_JWKS_URI,
                roleClaim: env.MCP_FEDERATION_ROLE_CLAIM,
                subjectTokenSource: env.MCP_FEDERATION_SUBJECT_TOKEN_SOURCE,
                exchangeFor: env.MCP_FEDERATION_EXCHANGE_FOR,
                userClaim: env.MCP_FEDERATION_USER_CLAIM,
              }),
            ]
          : undefined,
        roleToServicePrincipal: json(env, "MCP_ROLE_TO_SERVICE_PRINCIPAL"),
        maxTokenLifetimeS: int(env, "MCP_MAX_TOKEN_LIFETIME_S"),
      },
      idpObo: {
        issuer: env.MCP_IDP_OBO_ISSUER,
        audience: env.MCP_IDP_OBO_AUDIENCE,
        jwksUri: env.MCP_IDP_OBO_JWKS_URI,
        tokenEndpoint: env.MCP_IDP_OBO_TOKEN_ENDPOINT,
        clientId: env.MCP_IDP_OBO_CLIENT_ID,
        clientSecret: env.MCP_IDP_OBO_CLIENT_SECRET,
      },
      broker: {
        clientId: env.MCP_BROKER_CLIENT_ID,
        clientSecret: env.MCP_BROKER_CLIENT_SECRET,
        tokenKey: env.MCP_BROKER_TOKEN_KEY,
        store: env.MCP_BROKER_STORE,
        registrationsPerMinute: int(env, "MCP_BROKER_REGISTRATIONS_PER_MINUTE"),
        attemptsPerMinute: int(env, "MCP_BROKER_ATTEMPTS_PER_MINUTE"),
      },
      m2m: {
        clientId: env.DATABRICKS_CLIENT_ID,
        clientSecret: env.DATABRICKS_CLIENT_SECRET,
        allowHttpCallers: bool(env, "MCP_ALLOW_ANONYMOUS_M2M"),
      },
      local: {
        token: env.DATABRICKS_TOKEN,
        profile: env.DATABRICKS_CONFIG_PROFILE,
        configFile: env.DATABRICKS_CONFIG_FILE,
        authType: env.DATABRICKS_AUTH_TYPE,
        loginCacheFile: env.MCP_LOGIN_CACHE_FILE,
      },
      workspaceViewTtlS: int(env, "MCP_WORKSPACE_VIEW_TTL_S"),
    },
    policy: { rbac: json(env, "MCP_RBAC") },
    catalog: { file: env.MCP_TOOLS_FILE },
    audit: {
      spoolDir: env.MCP_AUDIT_SPOOL_DIR,
      commitDelayMs: int(env, "MCP_AUDIT_COMMIT_DELAY_MS"),
      flushIntervalMs: int(env, "MCP_AUDIT_FLUSH_INTERVAL_MS"),
      maxRecordBytes: int(env, "MCP_AUDIT_MAX_RECORD_BYTES"),
      maxBatchBytes: int(env, "MCP_AUDIT_MAX_BATCH_BYTES"),
      maxSpoolRecords: int(env, "MCP_AUDIT_SPOOL_MAX_RECORDS"),
      maxSpoolBytes: int(env, "MCP_AUDIT_SPOOL_MAX_BYTES"),
      pseudonymSalt: env.MCP_PSEUDONYM_SALT,
    },
    observability: {
      metrics: bool(env, "MCP_METRICS"),
      metricsToken: env.MCP_METRICS_TOKEN,
      metricsHost: env.MCP_METRICS_HOST,
      metricsPort: int(env, "MCP_METRICS_PORT"),
      otlpTracesEndpoint: otlpTracesEndpoint(env),
      otlpHeaders: parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS),
      serviceName: env.OTEL_SERVICE_NAME,
    },
    quota: {
      store: env.MCP_QUOTA_STORE,
      replicas: int(env, "MCP_QUOTA_REPLICAS"),
      storeTimeoutMs: int(env, "MCP_QUOTA_STORE_TIMEOUT_MS"),
      storeRetryMs: int(env, "MCP_QUOTA_STORE_RETRY_MS"),
      caller: {
        requestsPerMinute: int(env, "MCP_QUOTA_CALLER_PER_MINUTE"),
        concurrentCalls: int(env, "MCP_QUOTA_CALLER_CONCURRENT"),
      },
      roles: json(env, "MCP_QUOTA_ROLES", '{"executive":{"requestsPerMinute":120}}'),
      tools: json(env, "MCP_QUOTA_TOOLS", '{"ask_supervisor":{"concurrentCalls":1}}'),
      upstreams: {
        genie: { requestsPerMinute: int(env, "MCP_QUOTA_GENIE_PER_MINUTE") },
        sql: { inFlight: int(env, "MCP_QUOTA_STATEMENTS_IN_FLIGHT") },
      },
    },
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
  }) as Json;
}

/** The variable behind a configuration key, derived from fromEnv so that no variable is left out of errors. */
export const envNameOf = envNameLookup(fromEnv);

function readFileConfig(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ConfigError(`MCP_CONFIG_FILE: cannot read ${path}.`);
  }
  let parsed: unknown;
  try {
    parsed = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    throw new ConfigError(`MCP_CONFIG_FILE: ${path} is not valid ${path.endsWith(".json") ? "JSON" : "YAML"}: ${why}`);
  }
  if (!parsed || typeof parsed !== "object") throw new ConfigError(`MCP_CONFIG_FILE: ${path} must hold an object.`);
  return parsed as Json;
}

function checkUserPatterns(config: Config): void {
  const { idpObo, federation } = config.identity;
  const problem =
    userFederationProblem(config) ??
    idpOboProblem(
      idpObo,
      federation.issuers.map((issuer) => issuer.issuer),
    ) ??
    brokerProblem(config.identity.broker, config.server.publicUrl);
  if (problem) throw new ConfigError(problem);
}

/** Validates a configuration object; the first problem is reported with its key path and what to do. */
export function parseConfig(raw: unknown): Config {
  const result = ConfigSchema.safeParse(raw);
  if (result.success) {
    const config = result.data;
    for (const [role, sp] of Object.entries(config.identity.federation.roleToServicePrincipal)) {
      if (!sp)
        throw new ConfigError(
          `MCP_ROLE_TO_SERVICE_PRINCIPAL: role ${JSON.stringify(role)} maps to no service principal; give its application id (identity.federation.roleToServicePrincipal.${role}).`,
        );
    }
    for (const [variable, table] of [
      ["MCP_SALES_TABLE", config.workspace.salesTable],
      ["MCP_AUDIT_TABLE", config.workspace.auditTable],
    ] as const) {
      if (!/^[A-Za-z_][\w]*\.[A-Za-z_][\w]*\.[A-Za-z_][\w]*$/.test(table)) {
        throw new ConfigError(
          `${variable}: table ${JSON.stringify(table)} must be a three-part name catalog.schema.table.`,
        );
      }
    }
    checkUserPatterns(config);
    if (
      config.identity.federation.issuers.some((issuer) => issuer.exchangeFor !== "user") &&
      Object.keys(config.identity.federation.roleToServicePrincipal).length === 0
    ) {
      throw new ConfigError(
        "MCP_ROLE_TO_SERVICE_PRINCIPAL: Federation is configured (MCP_FEDERATION_ISSUER) but maps no role to a service principal.",
      );
    }
    if (config.observability.metricsHost !== undefined && config.observability.metricsPort === undefined)
      throw new ConfigError("MCP_METRICS_HOST is set: set MCP_METRICS_PORT too (the port of the metrics listener).");
    return config;
  }
  const issue = result.error.issues[0]!;
  const key = issue.path.join(".") || "(root)";
  const variable = envNameOf(issue.path);
  const example = variable && JSON_EXAMPLES[variable] ? ` (for example ${JSON_EXAMPLES[variable]})` : "";
  throw new ConfigError(
    variable
      ? `${variable}: ${issue.message} (configuration key ${key}). Set ${variable}${example}, or ${key} in MCP_CONFIG_FILE.`
      : `Invalid configuration at ${key}: ${issue.message}. Set it in the environment or MCP_CONFIG_FILE.`,
  );
}

/** The spool goes to the user state directory unless a directory is chosen (Databricks Apps: `.spool`, the app's own). */
function withSpoolDefault(raw: Json, env: Env): Json {
  const audit = raw.audit as Json | undefined;
  if (audit?.spoolDir !== undefined || env.DATABRICKS_APP_NAME) return raw;
  return merge(raw, { audit: { spoolDir: defaultSpoolDir(env) } });
}

/** Environment over an optional file (MCP_CONFIG_FILE) over `base` (e.g. the embedded local workspace's values). */
export function loadConfig(env: Env = process.env, base: Json = {}): Config {
  assertNoPlaceholders(env);
  const file = env.MCP_CONFIG_FILE ? readFileConfig(env.MCP_CONFIG_FILE) : {};
  const raw = merge(merge(merge({ identity: { obo: { trustProxyHeader: false } } }, base), file), fromEnv(env));
  return parseConfig(withPublicUrlHost(withSpoolDefault(raw, env)));
}
