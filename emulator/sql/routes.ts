import { randomUUID } from "node:crypto";
import type { WorkspaceContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import { readJsonObject, sendJson, type Router } from "../http/router.js";
import { requireScope, Scopes, type Principal } from "../principal.js";
import { SqlError, type SqlParameter, type SqlResult } from "./engine.js";
import {
  encodeChunk,
  formatAvailable,
  RESULT_FORMATS,
  type EncodedChunk,
  type ResultFormat,
} from "./result-formats.js";
import { ResultLinks } from "./result-links.js";
import { afterTime, cancelTimer, type ClockTimer } from "../../src/clock.js";

type State = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELED" | "CLOSED";

interface Statement {
  id: string;
  owner: string;
  state: State;
  error?: { error_code: string; message: string };
  sqlState?: string;
  result?: SqlResult;
  truncated: boolean;
  disposition: "INLINE" | "EXTERNAL_LINKS";
  format: ResultFormat;
  /** EXTERNAL_LINKS: each chunk's bytes in `format`, served through links. */
  encoded?: EncodedChunk[];
  done: Promise<void>;
  /** Aborted on cancel, so a statement still queued behind others never runs. */
  abort: AbortController;
  finishedAt?: number;
}

const ROWS_PER_CHUNK = 5000;
const MAX_STATEMENTS = 10_000;
const RETENTION_MS = 60 * 60 * 1000;

function invalid(message: string): ApiError {
  return new ApiError(400, "INVALID_PARAMETER_VALUE", message);
}

/** `wait_timeout`: "0s", or 5 to 50 seconds (ExecuteStatementRequest). */
function parseWaitTimeout(value: unknown): number {
  if (value === undefined) return 10;
  const m = typeof value === "string" ? /^(\d+)s$/.exec(value) : null;
  const seconds = m ? Number(m[1]) : NaN;
  if (seconds === 0 || (seconds >= 5 && seconds <= 50)) return seconds;
  throw invalid(`wait_timeout must be 0s or between 5s and 50s, got ${JSON.stringify(value).slice(0, 20)}`);
}

function parseParameters(value: unknown): SqlParameter[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid("parameters must be a list of {name, value, type}.");
  return value.map((p, i) => {
    if (!p || typeof p !== "object") throw invalid(`parameters[${i}] must be an object.`);
    const { name, value: v, type } = p as Record<string, unknown>;
    if (typeof name !== "string" || name === "") throw invalid(`parameters[${i}].name must be a non-empty string.`);
    if (v !== undefined && v !== null && typeof v !== "string")
      throw invalid(`parameters[${i}].value must be a string.`);
    if (type !== undefined && typeof type !== "string") throw invalid(`parameters[${i}].type must be a string.`);
    return { name, value: (v as string | null | undefined) ?? null, type: type as string | undefined };
  });
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") throw invalid(`${key} must be a non-empty string.`);
  return v;
}

/** `disposition` and `format`: JSON_ARRAY inline, or any of the three formats through external links. */
async function parseResultShape(body: Record<string, unknown>): Promise<Pick<Statement, "disposition" | "format">> {
  const disposition = body.disposition ?? "INLINE";
  if (disposition !== "INLINE" && disposition !== "EXTERNAL_LINKS")
    throw invalid("disposition must be INLINE or EXTERNAL_LINKS.");
  const format = body.format ?? "JSON_ARRAY";
  if (!RESULT_FORMATS.includes(format as ResultFormat))
    throw invalid("format must be JSON_ARRAY, ARROW_STREAM or CSV.");
  if (disposition === "INLINE" && format !== "JSON_ARRAY")
    throw invalid(
      `Format ${format as string} is supported only with disposition EXTERNAL_LINKS; use JSON_ARRAY inline.`,
    );
  if (!(await formatAvailable(format as ResultFormat)))
    throw invalid(
      `Format ${format as string} is not supported by this workspace (the Arrow library is not installed).`,
    );
  return { disposition, format: format as ResultFormat };
}

/** Whether the statement was cancelled or closed while it ran; its result is then dropped. */
function stopped(s: Statement): boolean {
  return s.state === "CANCELED" || s.state === "CLOSED";
}

function optionalInt(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw invalid(`${key} must be a non-negative integer.`);
  return v;
}

/** The SQL Statement Execution API 2.0 over the local engine. */
export function registerSqlRoutes(router: Router, ctx: WorkspaceContext): void {
  const statements = new Map<string, Statement>();
  const links = new ResultLinks(ctx.clock, () => ctx.baseUrl);
  links.register(router);

  function forget(): void {
    const now = Date.now();
    for (const [id, s] of statements) {
      if (statements.size <= MAX_STATEMENTS && (!s.finishedAt || now - s.finishedAt < RETENTION_MS)) break;
      if (s.finishedAt) {
        statements.delete(id);
        links.revoke(id);
      }
    }
  }

  function owned(principal: Principal, id: string): Statement {
    const s = statements.get(id);
    if (!s || s.owner !== principal.name)
      throw new ApiError(404, "NOT_FOUND", `Statement ${id.slice(0, 64)} not found.`);
    return s;
  }

  function chunkOf(s: Statement, index: number) {
    const rows = s.result!.rows;
    const offset = index * ROWS_PER_CHUNK;
    const data = rows.slice(offset, offset + ROWS_PER_CHUNK);
    const total = Math.max(1, Math.ceil(rows.length / ROWS_PER_CHUNK));
    const next = index + 1 < total ? index + 1 : undefined;
    return {
      chunk_index: index,
      row_offset: offset,
      row_count: data.length,
      data_array: data,
      ...(next !== undefined
        ? { next_chunk_index: next, next_chunk_internal_link: `/api/2.0/sql/statements/${s.id}/result/chunks/${next}` }
        : {}),
    };
  }

  /** A chunk as `result` carries it: inline rows, or (EXTERNAL_LINKS) a fresh link to its bytes. */
  function resultOf(s: Statement, index: number) {
    const { data_array: rows, ...position } = chunkOf(s, index);
    if (s.disposition === "INLINE") return { ...position, data_array: rows };
    const chunk = s.encoded![index]!;
    return { external_links: [{ ...position, byte_count: chunk.bytes.length, ...links.issue(s.id, chunk) }] };
  }

  function view(s: Statement, withResult = true) {
    const body: Record<string, unknown> = {
      statement_id: s.id,
      status: {
        state: s.state,
        ...(s.error ? { error: s.error } : {}),
        ...(s.sqlState ? { sql_state: s.sqlState } : {}),
      },
    };
    if (s.state === "SUCCEEDED" && s.result) {
      const rows = s.result.rows.length;
      const total = Math.max(1, Math.ceil(rows / ROWS_PER_CHUNK));
      const bytes = (i: number) => (s.encoded ? { byte_count: s.encoded[i]!.bytes.length } : {});
      body.manifest = {
        format: s.format,
        schema: { column_count: s.result.columns.length, columns: s.result.columns },
        total_chunk_count: total,
        chunks: Array.from({ length: total }, (_, i) => ({
          chunk_index: i,
          row_offset: i * ROWS_PER_CHUNK,
          row_count: Math.min(ROWS_PER_CHUNK, rows - i * ROWS_PER_CHUNK),
          ...bytes(i),
        })),
        total_row_count: rows,
        ...(s.encoded ? { total_byte_count: s.encoded.reduce((n, c) => n + c.bytes.length, 0) } : {}),
        truncated: s.truncated,
      };
      if (withResult) body.result = resultOf(s, 0);
    }
    return body;
  }

  router.add("POST", "/api/2.0/sql/statements", async ({ req, res }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.sql);
    const body = await readJsonObject(req, 16 * 1024 * 1024);
    if (typeof body.statement !== "string" || body.statement.trim() === "") throw invalid("statement is required.");
    if (typeof body.warehouse_id !== "string") throw invalid("warehouse_id is required.");
    const warehouse = ctx.seed.warehouses.find((w) => w.id === body.warehouse_id);
    if (!warehouse)
      throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", `Warehouse ${body.warehouse_id.slice(0, 64)} does not exist.`);
    if (!ctx.directory.allows(warehouse.permissions, principal, "CAN_USE")) {
      throw new ApiError(
        403,
        "PERMISSION_DENIED",
        `User ${principal.name} does not have CAN_USE permission on warehouse ${warehouse.id}.`,
      );
    }
    const wait = parseWaitTimeout(body.wait_timeout);
    if (
      body.on_wait_timeout !== undefined &&
      body.on_wait_timeout !== "CONTINUE" &&
      body.on_wait_timeout !== "CANCEL"
    ) {
      throw invalid("on_wait_timeout must be CONTINUE or CANCEL.");
    }
    const shape = await parseResultShape(body);
    const catalog = optionalString(body, "catalog");
    const schema = optionalString(body, "schema");
    const parameters = parseParameters(body.parameters);
    const rowLimit = optionalInt(body, "row_limit");
    const byteLimit = optionalInt(body, "byte_limit");
    if (body.query_tags !== undefined && !Array.isArray(body.query_tags))
      throw invalid("query_tags must be a list of {key, value}.");

    forget();
    const s: Statement = {
      id: randomUUID(),
      owner: principal.name,
      state: "PENDING",
      truncated: false,
      ...shape,
      done: Promise.resolve(),
      abort: new AbortController(),
    };
    statements.set(s.id, s);
    const statementText = body.statement;
    s.done = (async () => {
      // PENDING until the warehouse runs (a stopped one starts); a cancel while waiting ends it here.
      const running = ctx.warehouses.stateOf(warehouse.id) === "RUNNING";
      if (!running && !(await ctx.warehouses.untilRunning(warehouse.id, s.abort.signal))) return;
      s.state = "RUNNING";
      try {
        const result = await ctx.engine.execute(principal, statementText, parameters, {
          signal: s.abort.signal,
          queryTags: body.query_tags,
          catalog,
          schema,
        });
        if (stopped(s)) return;
        let rows = result.rows;
        if (rowLimit !== undefined && rows.length > rowLimit) {
          rows = rows.slice(0, rowLimit);
          s.truncated = true;
        }
        if (byteLimit !== undefined) {
          let bytes = 0;
          const kept = rows.findIndex((row) => (bytes += JSON.stringify(row).length) > byteLimit);
          if (kept !== -1) {
            rows = rows.slice(0, kept);
            s.truncated = true;
          }
        }
        if (s.disposition === "EXTERNAL_LINKS") {
          const encoded: EncodedChunk[] = [];
          for (let offset = 0; offset === 0 || offset < rows.length; offset += ROWS_PER_CHUNK)
            encoded.push(
              await encodeChunk(s.format, result.columns, rows.slice(offset, offset + ROWS_PER_CHUNK), offset === 0),
            );
          if (stopped(s)) return;
          s.encoded = encoded;
        }
        s.result = { columns: result.columns, rows };
        s.state = "SUCCEEDED";
      } catch (err) {
        if (stopped(s)) return;
        s.state = "FAILED";
        s.error =
          err instanceof SqlError
            ? { error_code: err.errorCode, message: err.message }
            : { error_code: "INTERNAL_ERROR", message: "The statement failed." };
        if (err instanceof SqlError) s.sqlState = err.sqlState;
      } finally {
        s.finishedAt = Date.now();
      }
    })();
    if (wait > 0) {
      // The answer comes when the statement ends or at wait_timeout on the workspace's clock, whichever is first.
      let timer: ClockTimer | undefined;
      const timedOut = await Promise.race([
        s.done.then(() => false),
        new Promise<boolean>((r) => (timer = afterTime(ctx.statementClock, wait * 1000, () => r(true)))),
      ]);
      // The answer must not keep the request (and its parameters) alive for the rest of wait_timeout.
      cancelTimer(timer);
      if (timedOut && body.on_wait_timeout === "CANCEL") {
        s.state = "CANCELED";
        s.finishedAt = Date.now();
        s.abort.abort();
      }
    }
    sendJson(res, 200, view(s));
  });

  router.add("GET", "/api/2.0/sql/statements/:statement_id", async ({ req, res, params }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.sql);
    sendJson(res, 200, view(owned(principal, params.statement_id!)));
  });

  router.add(
    "GET",
    "/api/2.0/sql/statements/:statement_id/result/chunks/:chunk_index",
    async ({ req, res, params }) => {
      const principal = await ctx.auth.authenticate(req);
      requireScope(principal, Scopes.sql);
      const s = owned(principal, params.statement_id!);
      if (s.state !== "SUCCEEDED" || !s.result)
        throw new ApiError(400, "INVALID_STATE", `Statement is ${s.state}; no result to fetch.`);
      const index = Number(params.chunk_index);
      const total = Math.max(1, Math.ceil(s.result.rows.length / ROWS_PER_CHUNK));
      if (!Number.isInteger(index) || index < 0 || index >= total)
        throw invalid(`chunk_index must be between 0 and ${total - 1}.`);
      sendJson(res, 200, resultOf(s, index));
    },
  );

  router.add("POST", "/api/2.0/sql/statements/:statement_id/cancel", async ({ req, res, params }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.sql);
    const s = owned(principal, params.statement_id!);
    if (s.state === "PENDING" || s.state === "RUNNING") {
      s.state = "CANCELED";
      s.finishedAt = Date.now();
      s.abort.abort();
    }
    sendJson(res, 200, {});
  });

  // Close: the result is released (links die with it) and the statement reads CLOSED; a running one stops first.
  router.add("DELETE", "/api/2.0/sql/statements/:statement_id", async ({ req, res, params }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.sql);
    const s = owned(principal, params.statement_id!);
    if (s.state === "PENDING" || s.state === "RUNNING" || s.state === "SUCCEEDED") {
      if (s.state !== "SUCCEEDED") s.abort.abort();
      s.state = "CLOSED";
      s.finishedAt ??= Date.now();
      delete s.result;
      delete s.encoded;
      links.revoke(s.id);
    }
    sendJson(res, 200, {});
  });
}
