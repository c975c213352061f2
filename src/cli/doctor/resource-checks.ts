/** Workspace resources, checked with the identity that will use them: warehouse, audit table, Genie, index, endpoint. */
import type { Config } from "../../config/schema.js";
import { asGovernedError } from "../../errors.js";
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

/** What a caller needs: its credential (a Federation exchange happens here), the warehouse, Genie, the index, the endpoint. */
export async function checkCaller(
  config: Config,
  caller: ResolvedCaller,
  timeoutMs: number,
  add: (c: DoctorCheck) => void,
) {
  const checks = workspaceChecks(config, caller, timeoutMs, add);
  const { identity } = caller;
  try {
    await caller.credential.token();
    add({
      name: identity.mode === "federation" ? "federation token exchange" : "caller credential",
      status: "ok",
      detail:
        identity.mode === "federation"
          ? `${identity.human ?? "caller"} as ${checks.who}`
          : `${identity.mode} (${identity.source}) as ${checks.who}`,
    });
  } catch (err) {
    add({
      name: identity.mode === "federation" ? "federation token exchange" : "caller credential",
      status: "fail",
      detail: reason(err),
      fix:
        identity.mode === "federation"
          ? `Add a federation policy on service principal ${identity.expectedPrincipal} whose issuer, audiences and subject match the token (databricks account service-principal-federation-policy create).`
          : "Sign in again; the token is expired or revoked.",
    });
    await checks.close();
    return;
  }
  const { warehouseId, genieSpaceId, vectorIndex, supervisorEndpoint } = config.workspace;
  try {
    await checks.attempt(
      `warehouse ${warehouseId} for callers`,
      async () => (await checks.sql("SELECT 1"), "SELECT 1 succeeded"),
      `Grant CAN_USE on warehouse ${warehouseId} to ${checks.who}.`,
    );
    await checks.attempt(
      `Genie space ${genieSpaceId}`,
      async () => {
        const space = await checks.get(`/api/2.0/genie/spaces/${encodeURIComponent(genieSpaceId)}`);
        return typeof space.title === "string" ? `reachable: ${space.title}` : "reachable";
      },
      `Check DATABRICKS_GENIE_SPACE_ID and share the space (CAN RUN) with ${checks.who}.`,
    );
    await checks.attempt(
      `vector index ${vectorIndex}`,
      async () => {
        await checks.get(`/api/2.0/vector-search/indexes/${encodeURIComponent(vectorIndex)}`).catch(async (err) => {
          // Where index details are not served, a one-result query proves the same permission.
          if (!/ENDPOINT_NOT_FOUND/.test(asGovernedError(err).message)) throw err;
          await checks.api.queryIndex(
            vectorIndex,
            { query_text: "doctor", num_results: 1, columns: ["doc_id"] },
            { deadline: checks.deadline() },
          );
        });
        return "queryable";
      },
      `Check DATABRICKS_VECTOR_INDEX and grant SELECT on ${vectorIndex} to ${checks.who}.`,
    );
    await checkServingEndpoint(supervisorEndpoint, checks.get, checks.who, add);
  } finally {
    await checks.close();
  }
}

/** GET of the endpoint (CAN_VIEW suffices); an invocation would cost a model call. */
async function checkServingEndpoint(
  endpoint: string,
  get: (path: string) => Promise<unknown>,
  who: string,
  add: (c: DoctorCheck) => void,
): Promise<void> {
  const name = `serving endpoint ${endpoint}`;
  try {
    const body = (await get(`/api/2.0/serving-endpoints/${encodeURIComponent(endpoint)}`)) as {
      state?: { ready?: string };
    };
    const ready = body.state?.ready;
    add({
      name,
      status: ready && ready !== "READY" ? "warn" : "ok",
      detail: `reachable${ready ? `, state ${ready}` : ""} (as ${who})`,
      fix: ready && ready !== "READY" ? "The endpoint is not ready yet; ask_supervisor fails until it is." : undefined,
    });
  } catch (err) {
    const governed = asGovernedError(err);
    if (governed.code === "NOT_FOUND" && /ENDPOINT_NOT_FOUND/.test(governed.message)) {
      add({ name, status: "skip", detail: "this workspace does not serve the endpoint details API; not checked" });
      return;
    }
    add({
      name,
      status: "fail",
      detail: `${reason(err)} (as ${who})`,
      fix: "Check DATABRICKS_SUPERVISOR_ENDPOINT and grant CAN_QUERY on the endpoint to the roles that may call ask_supervisor.",
    });
  }
}
