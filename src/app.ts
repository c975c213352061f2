import type { Logger } from "pino";
import { loadConfig, merge } from "./config/load.js";
import { embeddedConfigBase } from "./config/embedded.js";
import type { Config } from "./config/schema.js";
import { createLogger } from "./observability/logger.js";
import { buildToolCatalog } from "./mcp/tool-catalog.js";
import type { DispatcherDeps, AuditSink } from "./mcp/tool-dispatcher.js";
import { scopesFor } from "./policy/scopes.js";
import { startHttpServer, type RunningHttpServer } from "./transport/http-server.js";
import { startStdioServer } from "./transport/stdio.js";
import { WorkspaceHttpClient } from "./databricks/http-client.js";
import { createWorkspaceApi } from "./databricks/workspace-api.js";
import { createCredentialResolver } from "./identity/strategy-selector.js";
import { createM2MStrategy } from "./identity/strategies.js";
import { AuditTrail } from "./audit/audit-trail.js";
import { ALL_TOOLS } from "../tools/index.js";
import { pseudonymFor } from "./audit/pseudonym.js";
import type { LocalWorkspace } from "../emulator/workspace.js";

export interface App {
  config: Config;
  logger: Logger;
  http?: RunningHttpServer;
  localWorkspace?: LocalWorkspace;
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
}

/** Starts the server: configuration, identity, audit, tools, then the chosen transport. */
export async function startApp(options: StartOptions = {}): Promise<App> {
  const env = options.env ?? process.env;
  let localWorkspace = options.localWorkspace;
  let ownsWorkspace = false;
  let base: Record<string, unknown> = {};
  if (!env.DATABRICKS_HOST) {
    if (!localWorkspace) {
      const { startLocalWorkspace } = await import("../emulator/workspace.js");
      localWorkspace = await startLocalWorkspace({});
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
  if (localWorkspace)
    logger.info(
      { workspace: localWorkspace.baseUrl, idp: localWorkspace.idp.issuer },
      "using the embedded local workspace",
    );
  if (config.identity.m2m.allowHttpCallers) {
    logger.warn(
      "MCP_ALLOW_ANONYMOUS_M2M is on: HTTP callers without a credential act as the server's service principal",
    );
  }

  const host = config.workspace.host!;
  const catalog = buildToolCatalog(ALL_TOOLS);
  const scopes = scopesFor(ALL_TOOLS);
  const httpClient = new WorkspaceHttpClient(host);
  const resolver = createCredentialResolver(config, { scopes, logger });

  // The audit writer acts as the server's own service principal; callers never write audit rows.
  const auditIdentity = createM2MStrategy(config, ["sql"]);
  const auditCaller = await auditIdentity.resolve({ transport: "stdio", headers: {} });
  const auditApi = createWorkspaceApi(httpClient, auditCaller.credential, {
    requestId: "audit-writer",
    queryTags: { tool: "audit_writer" },
  });
  const audit = new AuditTrail(config, logger, async (statement, parameters) => {
    await auditApi.executeStatement({ warehouseId: config.workspace.warehouseId, statement, parameters, rowLimit: 1 });
  });
  await audit.start();

  const sink: AuditSink = { record: (entry) => audit.record(entry) };
  const dispatcher: DispatcherDeps = {
    config,
    catalog,
    audit: sink,
    logger,
    workspaceFor: (caller, tool, requestId, recordStatement) =>
      createWorkspaceApi(httpClient, caller.credential, {
        requestId,
        queryTags: { request_id: requestId, tool, human: pseudonymFor(caller.identity.human) },
        onStatement: recordStatement,
      }),
  };

  const stopWorkspace = async () => {
    if (ownsWorkspace) await localWorkspace?.close();
  };

  if (config.server.transport === "stdio") {
    const caller = await resolver.resolve({ transport: "stdio", headers: {} });
    const stdio = await startStdioServer(dispatcher, caller);
    return {
      config,
      logger,
      localWorkspace,
      async stop() {
        await stdio.close();
        await audit.stop();
        await httpClient.close();
        await stopWorkspace();
      },
    };
  }

  const http = await startHttpServer({
    config,
    dispatcher,
    logger,
    resolveCaller: (request) => resolver.resolve(request),
    authorizationServers: [...config.identity.federation.issuers.map((i) => i.issuer), `${host}/oidc`],
    scopesSupported: scopes,
    readiness: () => readiness(host, config),
    onShutdown: async () => {
      await audit.stop();
    },
  });
  logger.info({ url: `${http.url}${config.server.path}` }, "listening");
  return {
    config,
    logger,
    http,
    localWorkspace,
    async stop() {
      await http.shutdown();
      await httpClient.close();
      await stopWorkspace();
    },
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
