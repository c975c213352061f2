import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { Directory } from "./directory.js";
import { Counters, FaultInjector } from "./faults.js";
import type { WorkspaceContext } from "./context.js";
import { ApiError } from "./http/errors.js";
import { Router, sendError, sendJson, readJsonObject } from "./http/router.js";
import { Seed } from "./seed/schema.js";
import { createSqlEngine, DEFAULT_MAX_RUN_TIME_MS } from "./sql/engine.js";
import { sharedCluster, type ClusterAddress } from "./postgres/address.js";
import { startPostgresCluster, type PostgresCluster } from "./postgres/cluster.js";
import { registerSqlRoutes } from "./sql/routes.js";
import { registerWarehouseRoutes, WarehouseState, WarehouseStates } from "./sql/warehouses.js";
import { registerDiscoveryRoutes } from "./discovery.js";
import { WorkspaceTokens } from "./oidc/tokens.js";
import { registerOidcRoutes } from "./oidc/routes.js";
import { registerScimRoutes } from "./scim/routes.js";
import { registerGenieRoutes } from "./genie/routes.js";
import { registerGenieSpaceRoutes } from "./genie/spaces.js";
import { registerVectorSearchRoutes } from "./vectorsearch/routes.js";
import { registerServingRoutes } from "./serving/routes.js";
import { registerUnityCatalogFunctionRoutes } from "./unity-catalog/routes.js";
import { registerUnityCatalogConnectionRoutes } from "./unity-catalog/connections.js";
import { startLocalIdp, type LocalIdp } from "./idp/provider.js";
import type { ClientMetadataDocumentOptions } from "./idp/client-metadata-documents.js";
import { systemClock, type Clock } from "../src/clock.js";

export interface LocalWorkspaceOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  idpPort?: number;
  seed?: Seed;
  seedPath?: string;
  genieStepDelayMs?: number;
  /** Time Genie messages advance on; the system clock unless a test moves a fake one. */
  clock?: Clock;
  /** Time statements' `wait_timeout` runs on: `clock` unless given (tests faking Genie's time may keep this real). */
  statementClock?: Clock;
  /** Serve `/__admin/*` (fault injection and counters over HTTP). Off unless asked for. */
  adminRoutes?: boolean;
  /**
   * The PostgreSQL cluster the workspace makes its database in; by default the one this process shares
   * (emulator/postgres/address.ts), else a cluster of its own, started here and stopped on close.
   */
  postgres?: ClusterAddress;
  /** A statement's longest run before it fails with Databricks' timeout error (default 30 s). */
  maxRunTimeMs?: number;
  /** The local IdP's Client ID Metadata Document settings (tests: the loopback origin for `.test` client_ids). */
  clientMetadataDocuments?: ClientMetadataDocumentOptions;
}

export interface LocalWorkspace {
  baseUrl: string;
  idp: LocalIdp;
  context: WorkspaceContext;
  /** Issues workspace tokens in-process (tests and benchmarks that need a user's OBO token without a browser). */
  tokens: WorkspaceTokens;
  faults: FaultInjector;
  counters: Counters;
  close(): Promise<void>;
}

export const DEFAULT_SEED_PATH = fileURLToPath(new URL("./seed/default-seed.json", import.meta.url));

/** Loads and validates a seed file (JSON or YAML); a bad seed fails with the path of the offending field. */
export async function loadSeed(path = DEFAULT_SEED_PATH): Promise<Seed> {
  const text = await readFile(path, "utf8");
  const raw: unknown = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  const parsed = Seed.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`Invalid seed ${path}: ${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

/** Starts the local workspace and its identity provider on loopback. */
export async function startLocalWorkspace(options: LocalWorkspaceOptions = {}): Promise<LocalWorkspace> {
  const host = options.host ?? "127.0.0.1";
  const seed = options.seed ?? (await loadSeed(options.seedPath));
  const directory = new Directory(seed);
  const faults = new FaultInjector();
  const counters = new Counters();
  const address = options.postgres ?? sharedCluster();
  // The cluster (about half a second) starts while the IdP does.
  const [idp, own] = await Promise.all([
    startLocalIdp({
      host,
      port: options.idpPort ?? 0,
      seed,
      clientMetadataDocuments: options.clientMetadataDocuments,
    }),
    address ? undefined : startPostgresCluster(),
  ]);
  const stopCluster = async (cluster: PostgresCluster | undefined) => cluster?.stop();
  let engine;
  try {
    engine = await createSqlEngine(seed, directory, counters, {
      cluster: address ?? own!,
      maxRunTimeMs: options.maxRunTimeMs ?? DEFAULT_MAX_RUN_TIME_MS,
    });
  } catch (err) {
    await idp.close();
    await stopCluster(own);
    throw err;
  }

  const router = new Router();
  const server: Server = createServer();
  server.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    // A taken port must not leave the IdP and the engine running behind a rejected start.
    await idp.close();
    await engine.close();
    await stopCluster(own);
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://${host}:${port}`;

  const context = {
    seed,
    directory,
    faults,
    counters,
    engine,
    warehouses: new WarehouseStates(seed),
    baseUrl,
    idpIssuer: idp.issuer,
    idpJwksUri: idp.jwksUri,
    genieStepDelayMs: options.genieStepDelayMs ?? 150,
    clock: options.clock ?? systemClock,
    statementClock: options.statementClock ?? options.clock ?? systemClock,
  } as WorkspaceContext;
  const tokens = await WorkspaceTokens.create(context);
  context.auth = tokens;

  registerDiscoveryRoutes(router, context);
  registerOidcRoutes(router, context, tokens);
  registerScimRoutes(router, context);
  registerSqlRoutes(router, context);
  registerWarehouseRoutes(router, context);
  registerGenieSpaceRoutes(router, context);
  registerGenieRoutes(router, context);
  registerVectorSearchRoutes(router, context);
  registerServingRoutes(router, context);
  registerUnityCatalogFunctionRoutes(router, context);
  registerUnityCatalogConnectionRoutes(router, context);
  if (options.adminRoutes) registerAdminRoutes(router, context, idp, tokens);

  server.on("request", (req, res) => {
    void (async () => {
      counters.requests += 1;
      const url = new URL(req.url ?? "/", baseUrl);
      try {
        if (await faults.apply(req, res, url.pathname)) return;
        const found = router.match(req.method ?? "GET", url.pathname);
        if (found === undefined)
          throw new ApiError(404, "ENDPOINT_NOT_FOUND", `No API found for '${req.method} ${url.pathname}'`);
        if (found === "method")
          throw new ApiError(405, "BAD_REQUEST", `Method ${req.method} is not allowed for ${url.pathname}`);
        await found.handler({ req, res, url, params: found.params });
      } catch (err) {
        sendError(res, err);
      }
    })();
  });

  return {
    baseUrl,
    idp,
    context,
    tokens,
    faults,
    counters,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await idp.close();
      await engine.close();
      await stopCluster(own);
    },
  };
}

const AdminFaultRule = z
  .object({
    pathPrefix: z.string().startsWith("/"),
    method: z.string().optional(),
    principal: z.string().optional(),
    requestId: z.string().optional(),
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    failures: z
      .object({
        status: z.union([z.literal(429), z.literal(500), z.literal(502), z.literal(503), z.literal(504)]),
        count: z.number().int().min(0),
        retryAfterS: z.number().int().min(0).optional(),
        retryAfterDate: z.boolean().optional(),
      })
      .optional(),
    resets: z.number().int().min(0).optional(),
    stalls: z.number().int().min(0).optional(),
    statements: z
      .object({
        state: z.enum(["FAILED", "CANCELED"]),
        count: z.number().int().min(0),
        errorCode: z.string().optional(),
        message: z.string().optional(),
      })
      .optional(),
  })
  .strict();
const AdminWarehouseState = z.object({ state: WarehouseState, warehouse_id: z.string().optional() }).strict();
const AdminFaults = z.object({ clear: z.boolean().optional(), rules: z.array(AdminFaultRule).default([]) }).strict();
const AdminPermission = z
  .object({
    action: z.enum(["revoke", "restore"]),
    principal: z.string().min(1).optional(),
    warehouse_id: z.string().optional(),
  })
  .strict();

function adminBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ApiError(400, "INVALID_PARAMETER_VALUE", `${issue.path.join(".") || "(body)"}: ${issue.message}`);
  }
  return parsed.data;
}

/** `/__admin/*`: fault rules, permission revocation, counters and IdP keys over HTTP, for runs in another process. */
function registerAdminRoutes(router: Router, ctx: WorkspaceContext, idp: LocalIdp, tokens: WorkspaceTokens): void {
  router.add("POST", "/__admin/faults", async ({ req, res }) => {
    const body = adminBody(AdminFaults, await readJsonObject(req));
    if (body.clear) ctx.faults.clear();
    for (const rule of body.rules) ctx.faults.add(rule);
    sendJson(res, 200, {});
  });
  router.add("GET", "/__admin/faults", ({ res }) => sendJson(res, 200, { injected: ctx.faults.injected }));
  router.add("POST", "/__admin/warehouse/permissions", async ({ req, res }) => {
    const body = adminBody(AdminPermission, await readJsonObject(req));
    if (body.action === "restore") ctx.faults.restorePermissions();
    else if (!body.principal) throw new ApiError(400, "INVALID_PARAMETER_VALUE", "principal is required to revoke.");
    else {
      try {
        ctx.faults.revokeWarehouseUse(ctx.seed, body.principal, body.warehouse_id);
      } catch {
        throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", "No such warehouse.");
      }
    }
    sendJson(res, 200, {});
  });
  // A warehouse that is not RUNNING keeps its statements PENDING until set RUNNING again.
  router.add("POST", "/__admin/warehouse/state", async ({ req, res }) => {
    const body = adminBody(AdminWarehouseState, await readJsonObject(req));
    try {
      ctx.warehouses.set(body.warehouse_id ?? ctx.seed.warehouses[0]!.id, body.state);
    } catch {
      throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", "No such warehouse.");
    }
    sendJson(res, 200, {});
  });
  router.add("GET", "/__admin/counters", ({ res }) => {
    sendJson(res, 200, {
      token_requests: Object.fromEntries(ctx.counters.tokenRequests),
      jwks_fetches: ctx.counters.jwksFetches,
      idp_jwks_fetches: idp.jwksFetchCount(),
      statements: ctx.counters.statementsReceived,
      requests: ctx.counters.requests,
    });
  });
  router.add("POST", "/__admin/counters/reset", ({ res }) => {
    ctx.counters.reset();
    sendJson(res, 200, {});
  });
  router.add("POST", "/__admin/idp/rotate", async ({ res }) => {
    sendJson(res, 200, { kid: await idp.rotateKeys() });
  });
  router.add("POST", "/__admin/idp/revoke", async ({ req, res }) => {
    const body = adminBody(z.object({ kid: z.string().min(1) }).strict(), await readJsonObject(req));
    try {
      await idp.revokeKey(body.kid);
    } catch {
      throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", "No signing key with that kid.");
    }
    sendJson(res, 200, { current_kid: idp.currentKid() });
  });
  // Credentials a benchmark or test in another process needs without a browser: an IdP JWT, a user's workspace token.
  router.add("POST", "/__admin/idp/mint", async ({ req, res }) => {
    const body = adminBody(
      z.object({ sub: z.string().min(1), email: z.string().optional(), role: z.string().optional() }).strict(),
      await readJsonObject(req),
    );
    sendJson(res, 200, { token: await idp.mintToken(body) });
  });
  router.add("POST", "/__admin/tokens/issue", async ({ req, res }) => {
    const body = adminBody(
      z
        .object({
          principal: z.string().min(1),
          scopes: z.array(z.string()).min(1),
          ttl_seconds: z.number().int().positive().max(86_400),
        })
        .strict(),
      await readJsonObject(req),
    );
    if (!ctx.directory.userByName(body.principal) && !ctx.directory.servicePrincipal(body.principal))
      throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", "No such user or service principal.");
    sendJson(res, 200, await tokens.issue(body.principal, body.scopes, body.ttl_seconds));
  });
  router.add("POST", "/__admin/idp/jwks", async ({ req, res }) => {
    const body = adminBody(z.object({ available: z.boolean() }).strict(), await readJsonObject(req));
    idp.setJwksAvailable(body.available);
    sendJson(res, 200, {});
  });
}
