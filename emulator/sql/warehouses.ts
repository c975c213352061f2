import { z } from "zod";
import type { WorkspaceContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import { sendJson, type Router } from "../http/router.js";
import { requireScope, Scopes, type Principal } from "../principal.js";
import type { Seed } from "../seed/schema.js";

/** The warehouse states a test may set, as the SQL Warehouses API names them. */
export const WarehouseState = z.enum(["STARTING", "RUNNING", "STOPPING", "STOPPED"]);
export type WarehouseState = z.infer<typeof WarehouseState>;

type Warehouse = Seed["warehouses"][number];

/** Each warehouse's state, RUNNING until set otherwise; statements wait here until their warehouse runs. */
export class WarehouseStates {
  private readonly states = new Map<string, WarehouseState>();
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly seed: Seed) {}

  stateOf(id: string): WarehouseState {
    return this.states.get(id) ?? "RUNNING";
  }

  /** Sets a warehouse's state (an unknown id throws); RUNNING releases the statements waiting on it. */
  set(id: string, state: WarehouseState): void {
    if (!this.seed.warehouses.some((w) => w.id === id)) throw new Error(`No warehouse ${id}`);
    this.states.set(id, state);
    if (state !== "RUNNING") return;
    const waiting = this.waiters.get(id);
    this.waiters.delete(id);
    for (const wake of waiting ?? []) wake();
  }

  /**
   * True once the warehouse runs, false if `signal` aborts first. A stopped warehouse is started on demand, as
   * Databricks starts one for a statement: it stays STARTING until set RUNNING, so a test decides when it is up.
   */
  untilRunning(id: string, signal: AbortSignal): Promise<boolean> {
    const state = this.stateOf(id);
    if (state === "RUNNING") return Promise.resolve(true);
    if (state === "STOPPED" || state === "STOPPING") this.states.set(id, "STARTING");
    if (signal.aborted) return Promise.resolve(false);
    const waiting = this.waiters.get(id) ?? new Set<() => void>();
    this.waiters.set(id, waiting);
    return new Promise((resolve) => {
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      };
      const onAbort = () => {
        waiting.delete(wake);
        resolve(false);
      };
      waiting.add(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** Anyone with CAN_USE (or CAN_MANAGE) on a warehouse sees it; others are refused or, in a listing, left out. */
function mayView(ctx: WorkspaceContext, warehouse: Warehouse, principal: Principal): boolean {
  return ctx.directory.allows(warehouse.permissions, principal, "CAN_USE");
}

/** A serverless warehouse as `GET /api/2.0/sql/warehouses/{id}` describes it; no JDBC/ODBC is served here. */
function warehouseJson(warehouse: Warehouse, state: WarehouseState): Record<string, unknown> {
  const running = state === "RUNNING";
  return {
    id: warehouse.id,
    name: warehouse.name,
    state,
    warehouse_type: "PRO",
    enable_serverless_compute: true,
    enable_photon: true,
    cluster_size: "2X-Small",
    min_num_clusters: 1,
    max_num_clusters: 1,
    auto_stop_mins: 10,
    spot_instance_policy: "COST_OPTIMIZED",
    channel: { name: "CHANNEL_NAME_CURRENT" },
    num_clusters: running ? 1 : 0,
    ...(running ? { health: { status: "HEALTHY" } } : {}),
  };
}

/** The SQL Warehouses API's reads: the warehouses the caller may use, and one of them with its state. */
export function registerWarehouseRoutes(router: Router, ctx: WorkspaceContext): void {
  const view = (warehouse: Warehouse) => warehouseJson(warehouse, ctx.warehouses.stateOf(warehouse.id));

  router.add("GET", "/api/2.0/sql/warehouses", async ({ req, res }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.sql);
    const visible = ctx.seed.warehouses.filter((w) => mayView(ctx, w, principal));
    sendJson(res, 200, { warehouses: visible.map(view) });
  });

  router.add("GET", "/api/2.0/sql/warehouses/:warehouse_id", async ({ req, res, params }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.sql);
    const id = params.warehouse_id!;
    const warehouse = ctx.seed.warehouses.find((w) => w.id === id);
    if (!warehouse) throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", `Warehouse ${id.slice(0, 64)} does not exist.`);
    if (!mayView(ctx, warehouse, principal))
      throw new ApiError(
        403,
        "PERMISSION_DENIED",
        `User ${principal.name} does not have permission to view warehouse ${warehouse.id}.`,
      );
    sendJson(res, 200, view(warehouse));
  });
}
