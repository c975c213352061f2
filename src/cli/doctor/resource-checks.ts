/** Workspace resources, checked with the identity that will use them: warehouse, audit table, Genie, index, endpoint. */
import type { Config } from "../../config/schema.js";
import { WorkspaceHttpClient } from "../../databricks/http-client.js";
import { createWorkspaceApi } from "../../databricks/workspace-api.js";
import type { ResolvedCaller } from "../../identity/types.js";
import { reason, type DoctorCheck } from "./report.js";

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
  const sql = (statement: string) =>
    api.executeStatement({
      warehouseId: config.workspace.warehouseId,
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

/** A check's outcome when it can be more than passed or failed. */
type Verdict = { status: "ok" | "warn"; detail: string; fix?: string };
type Checks = ReturnType<typeof workspaceChecks>;

/** What a caller needs: its credential (a Federation exchange happens here), the warehouse, Genie, the index, the endpoint. */
export async function checkCaller(
  config: Config,
  caller: ResolvedCaller,
  timeoutMs: number,
  add: (c: DoctorCheck) => void,
) {
  const checks = workspaceChecks(config, caller, timeoutMs, add);
  try {
    const scopes = await checkCredential(caller, checks.who, add);
    if (scopes) await checkResources(config, checks, scopes, add);
  } finally {
    await checks.close();
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

/** Each resource through its details API, skipped when the caller's token is known to lack the scope it needs. */
async function checkResources(
  config: Config,
  checks: Checks,
  scopes: readonly string[],
  add: (c: DoctorCheck) => void,
): Promise<void> {
  const { warehouseId, genieSpaceId, vectorIndex, supervisorEndpoint } = config.workspace;
  const check = async (name: string, scope: string, run: () => Promise<Verdict>, fix: string) => {
    if (scopes.length > 0 && !scopes.includes("all-apis") && !scopes.includes(scope)) {
      add({ name, status: "skip", detail: `the caller's token has no ${scope} scope: no tool it may call needs this` });
      return;
    }
    try {
      const verdict = await run();
      add({ name, ...verdict, detail: `${verdict.detail} (as ${checks.who})` });
    } catch (err) {
      add({ name, status: "fail", detail: `${reason(err)} (as ${checks.who})`, fix });
    }
  };
  await check(
    `warehouse ${warehouseId} for callers`,
    "sql",
    () => warehouseVerdict(warehouseId, checks),
    `Check DATABRICKS_WAREHOUSE_ID and grant CAN_USE on warehouse ${warehouseId} to ${checks.who}.`,
  );
  if (genieSpaceId)
    await check(
      `Genie space ${genieSpaceId}`,
      "dashboards.genie",
      () => spaceVerdict(genieSpaceId, checks.get),
      `Check DATABRICKS_GENIE_SPACE_ID and share the space (CAN RUN) with ${checks.who}.`,
    );
  await check(
    `vector index ${vectorIndex}`,
    "vectorsearch.vector-search-indexes",
    () => indexVerdict(vectorIndex, checks.get),
    `Check DATABRICKS_VECTOR_INDEX and grant SELECT on ${vectorIndex} to ${checks.who}.`,
  );
  await check(
    `serving endpoint ${supervisorEndpoint}`,
    "serving.serving-endpoints",
    () => servingVerdict(supervisorEndpoint, checks.get),
    "Check DATABRICKS_SUPERVISOR_ENDPOINT and grant CAN_QUERY on the endpoint to the roles that may call ask_supervisor.",
  );
}

type Get = (path: string) => Promise<Record<string, unknown>>;

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
  await checks.sql("SELECT 1");
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
