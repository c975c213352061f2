/** Workspace resources, checked with the identity that will use them: the warehouse and what the tool catalog names. */
import type { Config } from "../../config/schema.js";
import { WorkspaceHttpClient } from "../../databricks/http-client.js";
import { createWorkspaceApi } from "../../databricks/workspace-api.js";
import type { ResolvedCaller } from "../../identity/types.js";
import { reason, type DoctorCheck } from "./report.js";
import { catalogResources, RESOURCE_FIELDS, type CatalogResource } from "./catalog-resources.js";
import { createM2MStrategy } from "../../identity/strategies/m2m.js";
import { connectionVerdict, functionVerdict, schemaVerdict, type Get, type Verdict } from "./unity-catalog-verdicts.js";

/** Who a resolved caller acts as, for the report. */
export function actorOf(caller: ResolvedCaller): string {
  const { mode, role, expectedPrincipal } = caller.identity;
  if (mode === "pat") return "DATABRICKS_TOKEN";
  if (mode === "u2m" || caller.identity.source === "profile") return `local user ${expectedPrincipal ?? "(profile)"}`;
  if (mode === "federation") return `role ${role} (service principal ${expectedPrincipal})`;
  if (mode === "m2m") return `service principal ${expectedPrincipal}`;
  return `${mode} user ${expectedPrincipal}`;
}

type Attempt = (name: string, run: () => Promise<string>, fix: string) => Promise<void>;

export function workspaceChecks(
  config: Config,
  caller: ResolvedCaller,
  timeoutMs: number,
  add: (c: DoctorCheck) => void,
) {
  const who = actorOf(caller);
  const http = new WorkspaceHttpClient(config.workspace.host!, { maxAttempts: 1, requestTimeoutMs: timeoutMs });
  const api = createWorkspaceApi(http, caller.credential, { requestId: "doctor", queryTags: { tool: "doctor" } });
  const deadline = () => Date.now() + timeoutMs;
  const get = (path: string) =>
    http.request<Record<string, unknown>>({
      method: "GET",
      path,
      credential: caller.credential,
      deadline: deadline(),
      idempotent: true,
      requestId: "doctor",
    });
  const sql = (statement: string, warehouseId = config.workspace.warehouseId) =>
    api.executeStatement({
      warehouseId,
      statement,
      parameters: [],
      rowLimit: 1,
      deadline: deadline(),
    });
  const attempt: Attempt = async (name, run, fix) => {
    try {
      add({ name, status: "ok", detail: `${await run()} (as ${who})` });
    } catch (err) {
      add({ name, status: "fail", detail: `${reason(err)} (as ${who})`, fix });
    }
  };
  return { who, api, get, sql, attempt, deadline, close: () => http.close() };
}

type Checks = ReturnType<typeof workspaceChecks>;

/** What a caller needs: its credential (a Federation exchange happens here), the warehouse, the catalog's resources. */
export async function checkCaller(
  config: Config,
  caller: ResolvedCaller,
  timeoutMs: number,
  add: (c: DoctorCheck) => void,
) {
  const checks = workspaceChecks(config, caller, timeoutMs, add);
  const server = serverReader(config, timeoutMs, add);
  try {
    const scopes = await checkCredential(caller, checks.who, add);
    if (scopes) await checkResources(config, checks, scopes, server.checks, add);
  } finally {
    await checks.close();
    await server.close();
  }
}

/** The caller's token, and the scopes it carries; undefined (and a failed check) when there is none. */
async function checkCredential(
  caller: ResolvedCaller,
  who: string,
  add: (c: DoctorCheck) => void,
): Promise<readonly string[] | undefined> {
  const { identity } = caller;
  const name = identity.mode === "federation" ? "federation token exchange" : "caller credential";
  try {
    const { scopes } = await caller.credential.token();
    add({
      name,
      status: "ok",
      detail:
        identity.mode === "federation"
          ? `${identity.human ?? "caller"} as ${who}`
          : `${identity.mode} (${identity.source}) as ${who}`,
    });
    return scopes;
  } catch (err) {
    add({
      name,
      status: "fail",
      detail: reason(err),
      fix:
        identity.mode === "federation"
          ? `Add a federation policy on service principal ${identity.expectedPrincipal} whose issuer, audiences and subject match the token (databricks account service-principal-federation-policy create).`
          : "Sign in again; the token is expired or revoked.",
    });
    return undefined;
  }
}

const UNITY_CATALOG = "unity-catalog";
/** Stands for whoever a check ran as, in its fix. */
const WHO = "{who}";

/**
 * The server's own service principal with the Unity Catalog scope, as start-up discovery uses it; undefined without
 * DATABRICKS_CLIENT_ID/SECRET. Resolved on first use.
 */
function serverReader(config: Config, timeoutMs: number, add: (c: DoctorCheck) => void) {
  let made: Promise<Checks | undefined> | undefined;
  const checks = () =>
    (made ??= (async () => {
      const { clientId, clientSecret } = config.identity.m2m;
      if (!clientId || !clientSecret) return undefined;
      const caller = await createM2MStrategy(config, [UNITY_CATALOG]).resolve({ transport: "stdio", headers: {} });
      return workspaceChecks(config, caller, timeoutMs, add);
    })().catch(() => undefined));
  return { checks, close: async () => (await made)?.close() };
}

/** The scope reading each kind of resource needs, and what to grant when the caller may not use it. */
const RESOURCE_ACCESS: Record<CatalogResource["field"], { scope: string; grant: string }> = {
  space: { scope: "dashboards.genie", grant: "share the space (CAN RUN) with" },
  index: { scope: "vectorsearch.vector-search-indexes", grant: "grant SELECT on the index to" },
  endpoint: { scope: "serving.serving-endpoints", grant: "grant CAN_QUERY on the endpoint to" },
  function: { scope: UNITY_CATALOG, grant: "grant EXECUTE on the function to" },
  schema: { scope: UNITY_CATALOG, grant: "grant USE SCHEMA and EXECUTE on its functions to" },
  connection: { scope: UNITY_CATALOG, grant: "grant USE CONNECTION to" },
  warehouse: { scope: "sql", grant: "grant CAN_USE on the warehouse to" },
};

/**
 * The configured warehouse, then each resource the tool catalog names, through its details API; a check is skipped
 * when the caller's token is known to lack the scope reading it needs.
 */
async function checkResources(
  config: Config,
  checks: Checks,
  scopes: readonly string[],
  server: () => Promise<Checks | undefined>,
  add: (c: DoctorCheck) => void,
): Promise<void> {
  const { warehouseId } = config.workspace;
  const hasScope = (scope: string) => scopes.length === 0 || scopes.includes("all-apis") || scopes.includes(scope);
  const check = async (
    name: string,
    scope: string,
    run: (as: Checks) => Promise<Verdict>,
    fix: string,
    asServer = false,
  ) => {
    // A function's details the caller's token cannot read are read as the server reads them at start-up.
    const as = hasScope(scope) ? checks : asServer ? await server() : undefined;
    if (!as) {
      const why =
        scope === UNITY_CATALOG
          ? "reading its details needs it, and the server reads only functions itself"
          : "no tool it may call needs this";
      add({ name, status: "skip", detail: `the caller's token has no ${scope} scope: ${why}` });
      return;
    }
    try {
      const verdict = await run(as);
      add({ name, ...verdict, detail: `${verdict.detail} (as ${as.who})` });
    } catch (err) {
      add({ name, status: "fail", detail: `${reason(err)} (as ${as.who})`, fix: fix.replace(WHO, as.who) });
    }
  };
  await check(
    `warehouse ${warehouseId} for callers`,
    "sql",
    (as) => warehouseVerdict(warehouseId, as),
    `Check DATABRICKS_WAREHOUSE_ID and grant CAN_USE on warehouse ${warehouseId} to ${WHO}.`,
  );
  for (const resource of catalogResources(config)) {
    if (resource.field === "warehouse" && resource.name === warehouseId) continue;
    const { scope, grant } = RESOURCE_ACCESS[resource.field];
    const tools = `${resource.tools.length === 1 ? "tool" : "tools"} ${resource.tools.join(", ")}`;
    await check(
      `${RESOURCE_FIELDS[resource.field]} ${resource.name}`,
      scope,
      async (as) => {
        const verdict = await resourceVerdict(resource, as);
        return { ...verdict, detail: `${verdict.detail}; for ${tools}` };
      },
      `Check ${resource.setting} and ${grant} ${WHO}.`,
      resource.field === "function" || resource.field === "schema",
    );
  }
}

/** What the workspace says of one catalog resource. */
function resourceVerdict(resource: CatalogResource, checks: Checks): Promise<Verdict> {
  const { name } = resource;
  switch (resource.field) {
    case "space":
      return spaceVerdict(name, checks.get);
    case "index":
      return indexVerdict(name, checks.get);
    case "endpoint":
      return servingVerdict(name, checks.get);
    case "function":
      return functionVerdict(name, checks.get);
    case "schema":
      return schemaVerdict(name, checks.get);
    case "connection":
      return connectionVerdict(name, checks.get);
    case "warehouse":
      return warehouseVerdict(name, checks);
  }
}

/** The warehouse's state first: a statement on one that is not running would wait (or start it), so none is sent. */
async function warehouseVerdict(id: string, checks: Checks): Promise<Verdict> {
  const warehouse = await checks.get(`/api/2.0/sql/warehouses/${encodeURIComponent(id)}`);
  const state = typeof warehouse.state === "string" ? warehouse.state : "unknown";
  if (state === "DELETED" || state === "DELETING")
    throw new Error(`warehouse ${id} is ${state}; point DATABRICKS_WAREHOUSE_ID at a live warehouse`);
  if (state !== "RUNNING") {
    return {
      status: "warn",
      detail: `state ${state}: statements wait until it has started, and calls meanwhile may fail WAREHOUSE_STARTING`,
      fix: `Start warehouse ${id}, or give it an auto-stop long enough for the server's traffic.`,
    };
  }
  await checks.sql("SELECT 1", id);
  return { status: "ok", detail: "RUNNING; SELECT 1 succeeded" };
}

async function spaceVerdict(id: string, get: Get): Promise<Verdict> {
  const space = await get(`/api/2.0/genie/spaces/${encodeURIComponent(id)}`);
  return { status: "ok", detail: typeof space.title === "string" ? `reachable: ${space.title}` : "reachable" };
}

async function indexVerdict(name: string, get: Get): Promise<Verdict> {
  const index = await get(`/api/2.0/vector-search/indexes/${encodeURIComponent(name)}`);
  const status = (index.status ?? {}) as { ready?: unknown; indexed_row_count?: unknown };
  const where = typeof index.endpoint_name === "string" ? ` on endpoint ${index.endpoint_name}` : "";
  if (status.ready === false)
    return {
      status: "warn",
      detail: `not ready yet${where}`,
      fix: "The index is still syncing; query_knowledge_base fails or misses documents until it is ready.",
    };
  const rows = typeof status.indexed_row_count === "number" ? `, ${status.indexed_row_count} rows` : "";
  return { status: "ok", detail: `ready${rows}${where}` };
}

/** GET of the endpoint (CAN_VIEW suffices); an invocation would cost a model call. */
async function servingVerdict(endpoint: string, get: Get): Promise<Verdict> {
  const body = await get(`/api/2.0/serving-endpoints/${encodeURIComponent(endpoint)}`);
  const ready = (body.state as { ready?: unknown } | undefined)?.ready;
  if (typeof ready === "string" && ready !== "READY")
    return {
      status: "warn",
      detail: `reachable, state ${ready}`,
      fix: "The endpoint is not ready yet; ask_supervisor fails until it is.",
    };
  return { status: "ok", detail: `reachable${typeof ready === "string" ? `, state ${ready}` : ""}` };
}
