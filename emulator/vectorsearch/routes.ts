import type { WorkspaceContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import { readJsonObject, sendJson, type Router } from "../http/router.js";
import { requireScope, Scopes, type Principal } from "../principal.js";
import type { Seed } from "../seed/schema.js";
import { compileFilters } from "./filters.js";
import { buildIndex, searchKnowledgeBase, type KnowledgeIndex, type QueryType } from "./search.js";

type IndexSpec = Seed["vectorIndexes"][number];

const MAX_RESULTS = 100;
const QUERY_TYPES: readonly QueryType[] = ["ANN", "HYBRID", "FULL_TEXT"];
const INDEX = "/api/2.0/vector-search/indexes/:index_name";
const invalid = (message: string) => new ApiError(400, "INVALID_PARAMETER_VALUE", message);

/** The index the caller names, if it exists (404) and the caller holds SELECT (or CAN_QUERY) on it (403). */
function indexFor(ctx: WorkspaceContext, principal: Principal, name: string): IndexSpec {
  const spec = ctx.seed.vectorIndexes.find((i) => i.name === name);
  if (!spec) throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", `Index ${name.slice(0, 128)} does not exist.`);
  if (!mayRead(ctx, spec, principal)) {
    throw new ApiError(
      403,
      "PERMISSION_DENIED",
      `User ${principal.name} does not have permission to query index ${spec.name}.`,
    );
  }
  return spec;
}

const mayRead = (ctx: WorkspaceContext, spec: IndexSpec, principal: Principal) =>
  ctx.directory.allows(spec.permissions, principal, "SELECT", "CAN_QUERY");

/** A Delta Sync index with embeddings computed from its text column, always ready. */
const indexJson = (spec: IndexSpec) => ({
  name: spec.name,
  endpoint_name: spec.endpointName,
  primary_key: spec.primaryKey,
  index_type: "DELTA_SYNC",
  delta_sync_index_spec: { embedding_source_columns: [{ name: spec.textColumn }], pipeline_type: "TRIGGERED" },
  status: { ready: true, indexed_row_count: spec.documents.length, message: "Index is ready." },
});

/**
 * Vector Search over the seeded knowledge base: an index's details, its endpoint's, and
 * `POST /api/2.0/vector-search/indexes/{index_name}/query`.
 */
export function registerVectorSearchRoutes(router: Router, ctx: WorkspaceContext): void {
  const indexes = new Map<string, KnowledgeIndex>(ctx.seed.vectorIndexes.map((spec) => [spec.name, buildIndex(spec)]));

  router.add("GET", INDEX, async ({ req, res, params }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.vectorSearch);
    sendJson(res, 200, indexJson(indexFor(ctx, principal, params.index_name!)));
  });

  // An endpoint is the indexes it serves: those who may read one of them see it.
  router.add("GET", "/api/2.0/vector-search/endpoints/:endpoint_name", async ({ req, res, params }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.vectorSearchEndpoints);
    const name = params.endpoint_name!;
    const served = ctx.seed.vectorIndexes.filter((i) => i.endpointName === name);
    if (served.length === 0)
      throw new ApiError(
        404,
        "RESOURCE_DOES_NOT_EXIST",
        `Vector search endpoint ${name.slice(0, 128)} does not exist.`,
      );
    if (!served.some((spec) => mayRead(ctx, spec, principal)))
      throw new ApiError(
        403,
        "PERMISSION_DENIED",
        `User ${principal.name} does not have permission to view endpoint ${name}.`,
      );
    sendJson(res, 200, {
      name,
      endpoint_type: "STANDARD",
      endpoint_status: { state: "ONLINE" },
      num_indexes: served.length,
    });
  });

  router.add("POST", `${INDEX}/query`, async ({ req, res, params }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.vectorSearch);
    const spec = indexFor(ctx, principal, params.index_name!);
    const index = indexes.get(spec.name)!;
    const body = await readJsonObject(req);
    if (typeof body.query_text !== "string" || body.query_text.trim() === "")
      throw invalid("query_text is required (query_vector is not supported by this index).");
    const numResults = body.num_results ?? 10;
    if (typeof numResults !== "number" || !Number.isInteger(numResults) || numResults < 1 || numResults > MAX_RESULTS)
      throw invalid(`num_results must be between 1 and ${MAX_RESULTS}.`);
    const columns = body.columns;
    if (!Array.isArray(columns) || columns.length === 0 || !columns.every((c) => typeof c === "string"))
      throw invalid("columns must be a non-empty list of column names.");
    const unknown = (columns as string[]).find((c) => !index.columns.has(c));
    if (unknown) throw invalid(`Requested columns to fetch are not present in index: ${unknown.slice(0, 64)}`);
    const filter = body.filters_json === undefined ? undefined : compileFilters(body.filters_json, index.columns);
    // The REST API documents upper case; the Python client's examples pass lower case.
    const queryType = (typeof body.query_type === "string" ? body.query_type.toUpperCase() : body.query_type) ?? "ANN";
    if (!QUERY_TYPES.includes(queryType as QueryType)) throw invalid("query_type must be ANN, HYBRID or FULL_TEXT.");
    const threshold = typeof body.score_threshold === "number" ? body.score_threshold : 0;
    const hits = searchKnowledgeBase(index, {
      queryText: body.query_text,
      numResults,
      filter,
      queryType: queryType as QueryType,
    }).filter((h) => h.score >= threshold);
    sendJson(res, 200, {
      manifest: {
        column_count: columns.length + 1,
        columns: [...(columns as string[]).map((name) => ({ name })), { name: "score" }],
      },
      result: {
        row_count: hits.length,
        data_array: hits.map((h) => [...(columns as string[]).map((c) => h.doc[c] ?? null), h.score]),
      },
    });
  });
}
