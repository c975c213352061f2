import { ErrorCodes, UpstreamError } from "../errors.js";
import type { WorkspaceCredential } from "../identity/types.js";
import { signalOf, type AbortSource } from "../linked-abort.js";
import type { WorkspaceHttpClient } from "./http-client.js";

export interface StatementParameter {
  name: string;
  value: string | null;
  type?: string;
}

export interface StatementResult {
  statementId: string;
  columns: { name: string; type_name: string }[];
  rows: (string | null)[][];
  truncated: boolean;
  totalRowCount: number;
}

interface StatementResponse {
  statement_id: string;
  status: { state: string; error?: { error_code?: string; message?: string } };
  manifest?: {
    schema?: { columns?: { name: string; type_name: string }[] };
    total_row_count?: number;
    total_chunk_count?: number;
    truncated?: boolean;
  };
  result?: { data_array?: (string | null)[][]; next_chunk_index?: number };
}

export interface CallOptions {
  /** The call's cancellation: a signal, or a limit made here (followed without making its signal). */
  signal?: AbortSource;
  deadline?: number;
}

/** The Databricks APIs the tools use, bound to one caller's credential. */
export interface WorkspaceApi {
  currentUser(options?: CallOptions): Promise<Record<string, unknown>>;
  executeStatement(
    input: { warehouseId: string; statement: string; parameters: StatementParameter[]; rowLimit: number } & CallOptions,
  ): Promise<StatementResult>;
  startConversation(
    spaceId: string,
    content: string,
    options?: CallOptions,
  ): Promise<{ conversation_id: string; message_id: string }>;
  createMessage(
    spaceId: string,
    conversationId: string,
    content: string,
    options?: CallOptions,
  ): Promise<{ id?: string; message_id?: string; conversation_id: string }>;
  getMessage(spaceId: string, conversationId: string, messageId: string, options?: CallOptions): Promise<GenieMessage>;
  getQueryResult(
    spaceId: string,
    conversationId: string,
    messageId: string,
    attachmentId: string,
    options?: CallOptions,
  ): Promise<{ statement_response: StatementResponse }>;
  queryIndex(
    indexName: string,
    body: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<{ manifest: { columns: { name: string }[] }; result: { row_count?: number; data_array?: unknown[][] } }>;
  invokeServing(
    endpoint: string,
    body: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<Record<string, unknown>>;
  /** A Unity Catalog function's FunctionInfo (input_params and all). */
  getFunction(fullName: string, options?: CallOptions): Promise<FunctionInfo>;
  /** The functions of a schema the caller may see. */
  listFunctions(catalog: string, schema: string, options?: CallOptions): Promise<{ functions?: FunctionInfo[] }>;
  /** An HTTP call through a Unity Catalog connection (serving endpoints' external-function call); the remote's answer. */
  externalFunction(request: ExternalFunctionRequest, options?: CallOptions): Promise<unknown>;
}

/** FunctionInfo of the Unity Catalog functions API, the fields tools read. */
export interface FunctionInfo {
  name: string;
  full_name?: string;
  catalog_name?: string;
  schema_name?: string;
  comment?: string;
  data_type?: string;
  input_params?: {
    parameters?: {
      name: string;
      type_name?: string;
      type_text?: string;
      position?: number;
      parameter_default?: string;
      comment?: string;
    }[];
  };
}

/** The body of POST /api/2.0/external-function: headers, json and params travel as JSON text. */
export interface ExternalFunctionRequest {
  connection_name: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  headers?: string;
  json?: string;
  params?: string;
}

export interface GenieMessage {
  id?: string;
  message_id?: string;
  conversation_id: string;
  status: string;
  error?: { error?: string; type?: string };
  attachments?: {
    attachment_id?: string;
    text?: { content?: string };
    query?: { query?: string; description?: string; statement_id?: string };
  }[];
}

const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELED", "CLOSED"]);

/** A FAILED statement as a stable code: Unity Catalog refusals, missing objects, and everything else. */
export function statementFailure(error: { error_code?: string; message?: string }): UpstreamError {
  const code = error.error_code ?? "SQL_EXECUTION_ERROR";
  // Databricks puts the error class in brackets at the start of the message; error_code is often just BAD_REQUEST.
  const errorClass = /^\s*\[([A-Z_.]+)\]/.exec(error.message ?? "")?.[1] ?? code;
  const detail = `${code}: ${(error.message ?? "").slice(0, 300)}`;
  if (/INSUFFICIENT_PERMISSIONS|PERMISSION_DENIED/.test(errorClass))
    return new UpstreamError(
      ErrorCodes.ACCESS_DENIED,
      `Unity Catalog denied this statement (${detail}). Ask a data owner for the grant; retrying will not help.`,
    );
  if (/TABLE_OR_VIEW_NOT_FOUND|SCHEMA_NOT_FOUND|CATALOG_NOT_FOUND/.test(errorClass))
    return new UpstreamError(
      ErrorCodes.NOT_FOUND,
      `The table does not exist or you may not see it (${detail}). Check the configured table name and your grants.`,
    );
  if (code === "DEADLINE_EXCEEDED" || errorClass === "QUERY_EXECUTION_TIMEOUT_EXCEEDED")
    return new UpstreamError(
      ErrorCodes.TIMEOUT,
      `The warehouse stopped the statement at its time limit (${detail}). Narrow the filters or lower the limit.`,
    );
  return new UpstreamError(ErrorCodes.QUERY_FAILED, `The statement failed (${detail}).`);
}
const enc = encodeURIComponent;

/**
 * A WorkspaceApi for one caller; `queryTags` ride on every statement so query history joins back to the audit row.
 * Deadlines and statement polling run on the client's clock, the one its own deadline checks read.
 */
export function createWorkspaceApi(
  http: WorkspaceHttpClient,
  credential: WorkspaceCredential,
  context: { requestId: string; queryTags: Record<string, string>; onStatement?: (statementId: string) => void },
): WorkspaceApi {
  const call = <T>(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    options: CallOptions = {},
    idempotent = method === "GET",
  ) =>
    http.request<T>({
      method,
      path,
      body,
      credential,
      signal: options.signal,
      deadline: options.deadline,
      idempotent,
      requestId: context.requestId,
    });
  const queryTags = Object.entries(context.queryTags).map(([key, value]) => ({ key, value }));
  const { clock } = http;

  return {
    currentUser: (options) => call("GET", "/api/2.0/preview/scim/v2/Me", undefined, options),

    async executeStatement({ warehouseId, statement, parameters, rowLimit, signal, deadline }) {
      let response = await call<StatementResponse>(
        "POST",
        "/api/2.0/sql/statements",
        {
          warehouse_id: warehouseId,
          statement,
          parameters,
          row_limit: rowLimit,
          wait_timeout: "10s",
          on_wait_timeout: "CONTINUE",
          disposition: "INLINE",
          format: "JSON_ARRAY",
          query_tags: queryTags,
        },
        { signal, deadline },
      );
      context.onStatement?.(response.statement_id);
      let delay = 100;
      const cancel = () =>
        call("POST", `/api/2.0/sql/statements/${enc(response.statement_id)}/cancel`, {}, {}).catch(() => undefined);
      while (!TERMINAL.has(response.status.state)) {
        const outOfTime = deadline !== undefined && clock.now() + delay >= deadline;
        if (outOfTime || signal?.aborted) {
          await cancel();
          // PENDING past the deadline means the warehouse never picked the statement up: it is starting or saturated.
          if (response.status.state === "PENDING" && (outOfTime || (deadline !== undefined && clock.now() >= deadline)))
            throw new UpstreamError(
              ErrorCodes.WAREHOUSE_STARTING,
              "The SQL warehouse did not start running the statement in time (it is starting or busy). Retry in a minute.",
              { retryAfterS: 60 },
            );
          if (outOfTime)
            throw new UpstreamError(
              ErrorCodes.TIMEOUT,
              "The statement did not finish in time and was cancelled. Narrow the filters or lower the limit.",
            );
          throw new UpstreamError(ErrorCodes.CANCELLED, "The statement was cancelled.");
        }
        await clock.sleep(delay, signalOf(signal)).catch(() => undefined);
        delay = Math.min(delay * 2, 1000);
        response = await call<StatementResponse>(
          "GET",
          `/api/2.0/sql/statements/${enc(response.statement_id)}`,
          undefined,
          { signal, deadline },
        );
      }
      if (response.status.state === "FAILED") throw statementFailure(response.status.error ?? {});
      // Not cancelled by this caller (that path returned above): the warehouse or an admin ended it.
      if (response.status.state !== "SUCCEEDED")
        throw new UpstreamError(
          ErrorCodes.QUERY_FAILED,
          `The warehouse ended the statement ${response.status.state} before it finished (not at your request). Retry.`,
        );
      const rows = [...(response.result?.data_array ?? [])];
      let next = response.result?.next_chunk_index;
      while (next !== undefined && rows.length < rowLimit) {
        const chunk = await call<{ data_array?: (string | null)[][]; next_chunk_index?: number }>(
          "GET",
          `/api/2.0/sql/statements/${enc(response.statement_id)}/result/chunks/${next}`,
          undefined,
          { signal, deadline },
        );
        rows.push(...(chunk.data_array ?? []));
        next = chunk.next_chunk_index;
      }
      return {
        statementId: response.statement_id,
        columns: response.manifest?.schema?.columns ?? [],
        rows: rows.slice(0, rowLimit),
        truncated: Boolean(response.manifest?.truncated) || rows.length > rowLimit || next !== undefined,
        totalRowCount: response.manifest?.total_row_count ?? rows.length,
      };
    },

    startConversation: (spaceId, content, options) =>
      call("POST", `/api/2.0/genie/spaces/${enc(spaceId)}/start-conversation`, { content }, options),
    createMessage: (spaceId, conversationId, content, options) =>
      call(
        "POST",
        `/api/2.0/genie/spaces/${enc(spaceId)}/conversations/${enc(conversationId)}/messages`,
        { content },
        options,
      ),
    getMessage: (spaceId, conversationId, messageId, options) =>
      call(
        "GET",
        `/api/2.0/genie/spaces/${enc(spaceId)}/conversations/${enc(conversationId)}/messages/${enc(messageId)}`,
        undefined,
        options,
      ),
    getQueryResult: (spaceId, conversationId, messageId, attachmentId, options) =>
      call(
        "GET",
        `/api/2.0/genie/spaces/${enc(spaceId)}/conversations/${enc(conversationId)}/messages/${enc(messageId)}/attachments/${enc(attachmentId)}/query-result`,
        undefined,
        options,
      ),
    // Vector search queries are reads: safe to retry.
    queryIndex: (indexName, body, options) =>
      call("POST", `/api/2.0/vector-search/indexes/${enc(indexName)}/query`, body, options, true),
    invokeServing: (endpoint, body, options) =>
      call("POST", `/serving-endpoints/${enc(endpoint)}/invocations`, body, options),
    getFunction: (fullName, options) =>
      call("GET", `/api/2.1/unity-catalog/functions/${enc(fullName)}`, undefined, options),
    listFunctions: (catalog, schema, options) =>
      call(
        "GET",
        `/api/2.1/unity-catalog/functions?catalog_name=${enc(catalog)}&schema_name=${enc(schema)}`,
        undefined,
        options,
      ),
    // The remote call may change something there: never retried.
    externalFunction: (request, options) => call("POST", "/api/2.0/external-function", request, options, false),
  };
}
