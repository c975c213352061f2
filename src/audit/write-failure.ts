import { ErrorCodes, GovernedError } from "../errors.js";

/**
 * Why a batch did not reach the table. `refused`: the workspace turned down these records as such (too large, a value
 * it will not take) — splitting them isolates the one at fault. `outage`: it could not take anything now (5xx,
 * 429, network, timeout, the writer's own grants or the table missing) — every record waits; none is set aside.
 */
export type WriteFailure = "refused" | "outage";

/** 4xx answers about the request itself; 401/403/404/408/409/429 say nothing about its records. */
const REFUSING_STATUS = new Set([400, 411, 413, 414, 415, 422]);

export function classifyWriteFailure(err: unknown): WriteFailure {
  if (!(err instanceof GovernedError)) return "outage";
  // A statement the warehouse failed for its content (a value it cannot cast or store).
  if (err.code === ErrorCodes.QUERY_FAILED) return "refused";
  const status = err.details.upstreamStatus;
  return status !== undefined && REFUSING_STATUS.has(status) ? "refused" : "outage";
}
