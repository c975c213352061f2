import { randomUUID } from "node:crypto";
import { afterTime, type Clock } from "../../src/clock.js";
import type { WorkspaceContext } from "../context.js";
import type { Principal } from "../principal.js";
import type { GenieMessageRecord, QueryRun } from "./conversations.js";

/** The steps a message with a query walks through, one per `genieStepDelayMs`. */
export const QUERY_MESSAGE_STEPS = [
  "SUBMITTED",
  "FETCHING_METADATA",
  "FILTERING_CONTEXT",
  "ASKING_AI",
  "PENDING_WAREHOUSE",
  "EXECUTING_QUERY",
  "COMPLETED",
] as const;
/** A message answered with text only never waits for a warehouse. */
export const TEXT_MESSAGE_STEPS = [
  "SUBMITTED",
  "FETCHING_METADATA",
  "FILTERING_CONTEXT",
  "ASKING_AI",
  "COMPLETED",
] as const;
const EXECUTING_STEP = QUERY_MESSAGE_STEPS.indexOf("EXECUTING_QUERY");

export type MessageStatus = (typeof QUERY_MESSAGE_STEPS)[number] | "FAILED" | "CANCELLED" | "QUERY_RESULT_EXPIRED";

/** Genie returns at most this many rows per query result; more are cut and flagged as truncated. */
export const GENIE_MAX_RESULT_ROWS = 5000;

export interface LifecycleOptions {
  stepDelayMs: number;
  /** How long a query result stays readable after it completes. */
  resultRetentionMs: number;
  clock: Clock;
}

/** Computes message status from elapsed time and runs each message's query as its asker when it is due. */
export class MessageLifecycle {
  constructor(
    private readonly ctx: WorkspaceContext,
    private readonly options: LifecycleOptions,
  ) {}

  private step(message: GenieMessageRecord): number {
    if (this.options.stepDelayMs <= 0) return Number.POSITIVE_INFINITY;
    return Math.floor((this.options.clock.now() - message.createdAt) / this.options.stepDelayMs);
  }

  /** Schedules the query to start when the message reaches EXECUTING_QUERY, whether or not anyone polls. */
  schedule(message: GenieMessageRecord): void {
    if (!message.query) return;
    afterTime(this.options.clock, EXECUTING_STEP * this.options.stepDelayMs, () => this.startDueRun(message));
  }

  /** Starts the first run if its step has come (a poll may arrive before a late timer). */
  startDueRun(message: GenieMessageRecord): void {
    if (!message.query || message.run || message.failure) return;
    if (this.step(message) < EXECUTING_STEP) return;
    void this.run(message, message.principal);
  }

  statusOf(message: GenieMessageRecord): MessageStatus {
    if (message.failure) return "FAILED";
    const step = this.step(message);
    if (!message.query) return TEXT_MESSAGE_STEPS[Math.min(step, TEXT_MESSAGE_STEPS.length - 1)]!;
    if (step < EXECUTING_STEP) return QUERY_MESSAGE_STEPS[step]!;
    this.startDueRun(message);
    const run = message.run;
    if (!run || run.state === "RUNNING") return "EXECUTING_QUERY";
    if (run.state === "CANCELED") return "CANCELLED";
    if (run.state === "FAILED") return "FAILED";
    if (step <= EXECUTING_STEP) return "EXECUTING_QUERY";
    if (this.isExpired(run)) {
      run.result = undefined;
      return "QUERY_RESULT_EXPIRED";
    }
    return "COMPLETED";
  }

  isExpired(run: QueryRun): boolean {
    return (
      run.state === "SUCCEEDED" &&
      run.finishedAt !== undefined &&
      this.options.clock.now() >= run.finishedAt + this.options.resultRetentionMs
    );
  }

  /** Runs the message's query as `principal`; the message fails with Genie's error types when it cannot. */
  async run(message: GenieMessageRecord, principal: Principal): Promise<QueryRun> {
    const query = message.query!;
    message.run?.abort.abort();
    const run: QueryRun = {
      statementId: randomUUID(),
      state: "RUNNING",
      startedAt: this.options.clock.now(),
      rowCount: 0,
      truncated: false,
      abort: new AbortController(),
    };
    message.run = run;
    message.failure = undefined;
    message.lastUpdatedAt = run.startedAt;

    const warehouseFailure = this.warehouseFailure(message.spaceId, principal);
    if (warehouseFailure) {
      this.fail(message, run, warehouseFailure.type, warehouseFailure.error, warehouseFailure.errorCode);
      return run;
    }
    try {
      const result = await this.ctx.engine.execute(principal, query.sql, query.parameters, {
        signal: run.abort.signal,
      });
      if (message.run !== run) return run;
      const truncated = result.rows.length > GENIE_MAX_RESULT_ROWS;
      run.result = truncated ? { columns: result.columns, rows: result.rows.slice(0, GENIE_MAX_RESULT_ROWS) } : result;
      run.rowCount = run.result.rows.length;
      run.truncated = truncated;
      run.state = "SUCCEEDED";
    } catch (err) {
      if (message.run !== run) return run;
      if (run.abort.signal.aborted) {
        run.state = "CANCELED";
      } else if (isSqlError(err)) {
        run.error = { errorCode: err.errorCode, message: err.message, sqlState: err.sqlState };
        this.fail(message, run, "SQL_EXECUTION_EXCEPTION", err.message);
      } else {
        // Unexpected engine faults are reported without internals.
        this.fail(message, run, "GENERIC_SQL_EXEC_API_CALL_EXCEPTION", "The query could not be executed.");
      }
    }
    run.finishedAt = this.options.clock.now();
    message.lastUpdatedAt = run.finishedAt;
    return run;
  }

  private fail(
    message: GenieMessageRecord,
    run: QueryRun,
    type: string,
    error: string,
    errorCode = "BAD_REQUEST",
  ): void {
    run.state = "FAILED";
    run.error ??= { errorCode, message: error };
    run.finishedAt = this.options.clock.now();
    message.failure = { error, type };
  }

  /** The space's warehouse must exist and the asker must be able to use it. */
  private warehouseFailure(
    spaceId: string,
    principal: Principal,
  ): { type: string; error: string; errorCode: string } | undefined {
    const space = this.ctx.seed.genieSpaces.find((s) => s.id === spaceId);
    const warehouse = this.ctx.seed.warehouses.find((w) => w.id === space?.warehouseId);
    if (!warehouse)
      return {
        type: "WAREHOUSE_NOT_FOUND_EXCEPTION",
        error: `Warehouse ${space?.warehouseId ?? ""} does not exist.`,
        errorCode: "NOT_FOUND",
      };
    if (!this.ctx.directory.allows(warehouse.permissions, principal, "CAN_USE")) {
      return {
        type: "WAREHOUSE_ACCESS_MISSING_EXCEPTION",
        error: `You do not have CAN_USE permission on warehouse ${warehouse.id}.`,
        errorCode: "BAD_REQUEST",
      };
    }
    return undefined;
  }
}

/** Recognises the engine's SqlError by shape, so this module needs no runtime import of the engine. */
function isSqlError(err: unknown): err is Error & { errorCode: string; sqlState: string } {
  return err instanceof Error && typeof (err as { errorCode?: unknown }).errorCode === "string";
}
