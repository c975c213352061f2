import { randomUUID } from "node:crypto";
import { resolve as resolvePath } from "node:path";
import type { Logger } from "pino";
import { loadConfig, merge } from "./config/load.js";
import { embeddedConfigBase } from "./config/embedded.js";
import { startsEmbeddedWorkspace } from "./config/embedded-choice.js";
import type { Config } from "./config/schema.js";
import { createLogger } from "./observability/logger.js";
import { installTraceContext } from "./observability/trace-context.js";
import { startTraceExport, type TraceExport } from "./observability/otlp-export.js";
import { ServerMetrics } from "./observability/metrics.js";
import {
  metricsEndpoint,
  startMetricsListener,
  type RunningMetricsListener,
} from "./observability/metrics-endpoint.js";
import { buildToolCatalog } from "./mcp/tool-catalog.js";
import type { DispatcherDeps, AuditSink } from "./mcp/tool-dispatcher.js";
import { WorkspaceViewCache } from "./identity/workspace-view-cache.js";
import { scopesFor } from "./policy/scopes.js";
import { startHttpServer, type RunningHttpServer } from "./transport/http-server.js";
import { startStdioServer } from "./transport/stdio.js";
import { withWorkspaceUser } from "./identity/local-user.js";
import { embeddedDemoUser } from "./identity/embedded-demo-user.js";
import { WorkspaceHttpClient } from "./databricks/http-client.js";
import { createWorkspaceApi } from "./databricks/workspace-api.js";
import { createCredentialResolver } from "./identity/strategy-selector.js";
import { createBroker } from "./identity/broker/broker.js";
import { createM2MStrategy } from "./identity/strategies/m2m.js";
import { withProfileHost } from "./identity/databricks-profile.js";
import { AuditTrail, type StatementExecutor } from "./audit/audit-trail.js";
import { auditDestination, describeAuditDestination } from "./audit/audit-destination.js";
import { localAuditFileWriter } from "./audit/local-audit-file.js";
import { RefusalAggregator } from "./audit/refusal-aggregator.js";
import { discoverCatalog, loadToolCatalog, readConfiguredCatalog } from "../tools/catalog/load.js";
import { startupDiscovery } from "./databricks/catalog-discovery.js";
import { ToolPolicy } from "./policy/tool-policy.js";
import { pseudonyms } from "./audit/pseudonym.js";
import { ConversationHandles } from "./policy/conversation-handle.js";
import type { LocalWorkspace } from "../emulator/workspace.js";
import { catalogLimitsOf, openQuotaGate } from "./quota/open.js";
import type { EarlyStdioTransport } from "./transport/early-stdio.js";
import { ResourceAudience } from "./identity/resource-audience.js";
import { authorizationServersOf, resourceIdentifiers } from "./transport/protected-resource.js";

export interface App {
  config: Config;
  logger: Logger;
  http?: RunningHttpServer;
  localWorkspace?: LocalWorkspace;
  /** Present when metrics are on (`MCP_METRICS`). */
  metrics?: ServerMetrics;
  /** The listener of its own for `/metrics`, when `MCP_METRICS_PORT` is set (HTTP). */
  metricsListener?: RunningMetricsListener;
  /** Refusals at the door without a verified identity, folded per source, code and minute (HTTP). */
  refusals?: RefusalAggregator;
  /** Present when spans are exported over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT). */
  traces?: TraceExport;
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  transport?: "stdio" | "http";
  /** Overrides on top of everything else (tests). */
  overrides?: Record<string, unknown>;
  /** An already running local workspace to use instead of starting one (tests). */
  localWorkspace?: LocalWorkspace;
  logger?: Logger;
  /** Milliseconds since the epoch that inbound tokens and the IdP keys' cache age are judged on (tests move it). */
  identityNow?: () => number;
  /** stdio: a transport already reading stdin, which answered `initialize` while the server started. */
  stdioTransport?: EarlyStdioTransport;
}

/** Starts the server: configuration, identity, audit, tools, then the chosen transport. */
export async function startApp(options: StartOptions = {}): Promise<App> {
  // A named ~/.databrickscfg profile also names the workspace, as in Databricks unified auth.
  const env = withProfileHost(options.env ?? process.env);
  let localWorkspace = options.localWorkspace;
  let ownsWorkspace = false;
  let base: Record<string, unknown> = {};
  if (!localWorkspace ? startsEmbeddedWorkspace(env) : !env.DATABRICKS_HOST) {
    if (!localWorkspace) {
      localWorkspace = await startEmbeddedWorkspace(env);
      ownsWorkspace = true;
    }
    base = embeddedConfigBase(
      localWorkspace.context.seed,
      localWorkspace.baseUrl,
      localWorkspace.idp.issuer,
      localWorkspace.idp.jwksUri,
    );
  }
  const config = loadConfig(
    env,
    merge(merge(base, { server: options.transport ? { transport: options.transport } : {} }), options.overrides ?? {}),
  );
  const logger = options.logger ?? createLogger(config.logLevel, config.logFormat);
  installTraceContext();
  const { otlpTracesEndpoint, otlpHeaders, serviceName } = config.observability;
  const traces = await startTraceExport(
    { tracesEndpoint: otlpTracesEndpoint, headers: otlpHeaders, serviceName },
    logger,
  );
  if (localWorkspace)
    logger.info(
      { workspace: localWorkspace.baseUrl, idp: localWorkspace.idp.issuer },
      "using the embedded local workspace",
    );
  if (ownsWorkspace && localWorkspace && movedFromDefaultPorts(localWorkspace, env))
    logger.warn(
      { workspace: localWorkspace.baseUrl, idp: localWorkspace.idp.issuer },
      "the local workspace's ports were taken, so it listens elsewhere: tokens from an IdP at the usual address are refused here; free the ports or set MCP_LOCAL_WORKSPACE_PORT and MCP_LOCAL_IDP_PORT",
    );
  const demo =
    localWorkspace && config.server.transport === "stdio" ? await embeddedDemoUser(localWorkspace, env) : undefined;
  if (demo) {
    config.identity.local.token = demo.token;
    logger.info(
      { user: demo.user },
      "stdio acts as the local workspace's demo user (set MCP_LOCAL_DEMO_USER to change)",
    );
  }
  logger.info({ spoolDir: resolvePath(config.audit.spoolDir) }, "audit spool directory");
  if (config.identity.m2m.allowHttpCallers) {
    logger.warn(
      "MCP_ALLOW_ANONYMOUS_M2M is on: HTTP callers without a credential act as the server's service principal",
    );
  }

  const host = config.workspace.host!;
  const discovery = startupDiscovery(config);
  const discovered = await discoverCatalog(readConfiguredCatalog(config), discovery).finally(() => discovery.close());
  const { tools, skipped } = loadToolCatalog(config, discovered.raw);
  for (const tool of [...discovered.skipped, ...skipped])
    logger.info({ tool: tool.name }, `${tool.name} is not offered: ${tool.reason}`);
  const catalog = buildToolCatalog(tools);
  const policy = new ToolPolicy(catalog, config);
  const scopes = scopesFor(tools);
  // Refusals at the broker's endpoints come only once the server listens, after the audit trail has started.
  const broker = createBroker(config, {
    logger,
    audit: { record: (entry) => audit.record(entry), fold: (refusal) => refusals.refuse(refusal) },
  });
  const ownResource = new ResourceAudience();
  const resolver = createCredentialResolver(config, {
    tools,
    logger,
    now: options.identityNow,
    brokered: broker?.strategy,
    ownAudiences: () => ownResource.identifiers,
  });
  // Served by the HTTP server (or a listener of its own beside it); over stdio nothing would read them.
  const metrics =
    config.observability.metrics && config.server.transport === "http"
      ? new ServerMetrics({ tokenCache: resolver.cache, audit: () => audit, toolNames: policy.rules.all })
      : undefined;
  const httpClient = new WorkspaceHttpClient(host, {
    onUpstreamResponse: metrics ? (status, family) => metrics.observeUpstream(status, family) : undefined,
  });

  const writeAudit = await auditWriter(config, httpClient, logger);
  const audit: AuditTrail = new AuditTrail(config, logger, writeAudit);
  await audit.start();

  const refusals = new RefusalAggregator((entry) => audit.record(entry), logger);
  const sink: AuditSink = {
    record: (entry) => audit.record(entry),
    begin: (intent) => audit.begin(intent),
    admit: (call) => audit.admit(call),
    refuseUnverified: (refusal) => refusals.refuse(refusal),
  };
  const { handleSecret } = config.server;
  if (!handleSecret && config.server.transport === "http")
    logger.warn("MCP_HANDLE_SECRET is not set: Genie follow-ups work only on this replica and until it restarts");
  const conversationHandles = handleSecret
    ? ConversationHandles.withSecret(handleSecret)
    : ConversationHandles.ephemeral();
  const quota = openQuotaGate(config, logger, metrics?.registry, { catalogLimits: catalogLimitsOf(discovered.raw) });
  const pseudonymOf = pseudonyms(config.audit.pseudonymSalt, config.identity.tokenCache.maxEntries);
  const dispatcher: DispatcherDeps = {
    quota,
    config,
    policy,
    audit: sink,
    logger,
    workspaceViews: new WorkspaceViewCache(
      config.identity.tokenCache.maxEntries,
      config.identity.workspaceViewTtlS * 1000,
    ),
    onCallFinished: metrics ? (entry) => metrics.observeCall(entry) : undefined,
    conversationHandles,
    workspaceFor: (caller, tool, requestId, recordStatement) =>
      createWorkspaceApi(httpClient, caller.credential, {
        requestId,
        queryTags: {
          request_id: requestId,
          tool,
          human: pseudonymOf(caller.identity.human, caller.identity.issuer),
        },
        onStatement: recordStatement,
      }),
  };

  const stopWorkspace = async () => {
    if (ownsWorkspace) await localWorkspace?.close();
  };

  if (config.server.transport === "stdio") {
    const resolved = await resolver.resolve({ transport: "stdio", headers: {} });
    const { caller, looked } = await withWorkspaceUser(resolved, () =>
      createWorkspaceApi(httpClient, resolved.credential, { requestId: randomUUID(), queryTags: {} }).currentUser(),
    );
    if (!looked && !caller.identity.human && caller.identity.mode !== "m2m")
      logger.warn(
        { mode: caller.identity.mode },
        "the workspace did not say who this credential is; audit rows will name no human",
      );
    const stdio = await startStdioServer(dispatcher, caller, options.stdioTransport);
    return {
      config,
      logger,
      localWorkspace,
      async stop() {
        await stdio.close();
        await audit.stop();
        await quota.close();
        await httpClient.close();
        await traces?.shutdown();
        await stopWorkspace();
      },
    };
  }

  const metricsAt = metrics ? metricsEndpoint(config, () => metrics.text()) : undefined;
  if (metricsAt?.warning) logger.warn(metricsAt.warning);
  const metricsListener = metricsAt?.ownListener
    ? await startMetricsListener({ ...metricsAt, ownListener: metricsAt.ownListener }, config.server.allowedHosts)
    : undefined;
  const http = await startHttpServer({
    config,
    dispatcher,
    logger,
    resolveCaller: (request) => resolver.resolve(request),
    ...authorizationServersOf(config, scopes),
    // The first authorization server is the IdP when Federation is on; it knows its own scopes, not the workspace's.
    challengeScopes: config.identity.federation.issuers[0]?.clientScopes ?? scopes,
    readiness: () => readiness(host, config),
    metrics: metricsAt && !metricsAt.ownListener ? metricsAt.serve : undefined,
    routes: broker?.handle,
    onShutdown: async () => {
      await refusals.stop();
      await audit.stop();
      await quota.close();
    },
  });
  const resource = resourceIdentifiers(config.server, http.url);
  ownResource.bind([resource.endpoint, resource.root]);
  // The emulator's modules load only when a local workspace runs (never with DATABRICKS_HOST set).
  if (localWorkspace)
    (await import("../emulator/mcp-resource.js")).trustMcpResource(localWorkspace, [resource.endpoint, resource.root]);
  logger.info({ url: `${http.url}${config.server.path}` }, "listening");
  return {
    config,
    logger,
    http,
    localWorkspace,
    metrics,
    refusals,
    metricsListener,
    traces,
    async stop() {
      await metricsListener?.close();
      await http.shutdown();
      await broker?.close();
      await httpClient.close();
      await traces?.shutdown();
      await stopWorkspace();
    },
  };
}

/**
 * The audit writer: the server's own service principal writing the audit table (callers never write audit rows), or,
 * for a stdio user with no service principal, a local file in the same record format.
 */
async function auditWriter(
  config: Config,
  httpClient: WorkspaceHttpClient,
  logger: Logger,
): Promise<StatementExecutor> {
  const destination = auditDestination(config);
  logger.info({ audit: describeAuditDestination(destination) }, "audit records go to");
  if (destination.kind === "local-file") return localAuditFileWriter(destination.path);
  const auditCaller = await createM2MStrategy(config, ["sql"]).resolve({ transport: "stdio", headers: {} });
  const auditApi = createWorkspaceApi(httpClient, auditCaller.credential, {
    requestId: "audit-writer",
    queryTags: { tool: "audit_writer" },
  });
  return async (statement, parameters) => {
    await auditApi.executeStatement({ warehouseId: config.workspace.warehouseId, statement, parameters, rowLimit: 1 });
  };
}

/** Ready when the workspace and every Federation IdP answer their discovery documents. */
async function readiness(host: string, config: Config): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const targets: Record<string, string> = { workspace: `${host}/oidc/.well-known/oauth-authorization-server` };
  config.identity.federation.issuers.forEach(
    (i, n) => (targets[`idp_${n}`] = `${i.issuer}/.well-known/openid-configuration`),
  );
  const checks: Record<string, string> = {};
  await Promise.all(
    Object.entries(targets).map(async ([name, url]) => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        checks[name] = res.ok ? "ok" : `HTTP ${res.status}`;
      } catch {
        checks[name] = "unreachable";
      }
    }),
  );
  return { ready: Object.values(checks).every((c) => c === "ok"), checks };
}

function embeddedPorts(env: Record<string, string | undefined>): { port: number; idpPort: number } {
  return { port: Number(env.MCP_LOCAL_WORKSPACE_PORT ?? 8765), idpPort: Number(env.MCP_LOCAL_IDP_PORT ?? 8766) };
}

/** True when the embedded workspace could not take the ports instructions and client configurations name. */
function movedFromDefaultPorts(workspace: LocalWorkspace, env: Record<string, string | undefined>): boolean {
  const { port, idpPort } = embeddedPorts(env);
  return new URL(workspace.baseUrl).port !== String(port) || new URL(workspace.idp.issuer).port !== String(idpPort);
}

/**
 * The embedded local workspace, on fixed loopback ports by default (8765, IdP 8766) so that instructions and client
 * configurations can name them; a port already taken falls back to a free one.
 */
async function startEmbeddedWorkspace(env: Record<string, string | undefined>): Promise<LocalWorkspace> {
  const { startLocalWorkspace } = await import("../emulator/workspace.js");
  const { port, idpPort } = embeddedPorts(env);
  try {
    return await startLocalWorkspace({ port, idpPort });
  } catch (err) {
    if ((err as { code?: string }).code !== "EADDRINUSE") throw err;
    return startLocalWorkspace({ port: 0, idpPort: 0 });
  }
}
