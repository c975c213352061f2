import type { WorkspaceContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import { readJsonObject, sendJson, type Router } from "../http/router.js";
import { requireScope, Scopes } from "../principal.js";
import { buildIndex, searchKnowledgeBase, type Filters, type KnowledgeIndex } from "./search.js";

const MAX_RESULTS = 100;
const invalid = (message: string) => new ApiError(400, "INVALID_PARAMETER_VALUE", message);

/** Vector Search `POST /api/2.0/vector-search/indexes/{index_name}/query` over the seeded knowledge base. */
export function registerVectorSearchRoutes(router: Router, ctx: WorkspaceContext): void {
  const indexes = new Map<string, KnowledgeIndex>(ctx.seed.vectorIndexes.map((spec) => [spec.name, buildIndex(spec)]));
  router.add("POST", "/api/2.0/vector-search/indexes/:index_name/query", async ({ req, res, params }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.vectorSearch);
    const spec = ctx.seed.vectorIndexes.find((i) => i.name === params.index_name);
    if (!spec)
      throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", `Index ${params.index_name!.slice(0, 128)} does not exist.`);
    if (!ctx.directory.allows(spec.permissions, principal, "SELECT", "CAN_QUERY")) {
      throw new ApiError(
        403,
        "PERMISSION_DENIED",
        `User ${principal.name} does not have permission to query index ${spec.name}.`,
      );
    }
    const body = await readJsonObject(req);
    if (typeof body.query_text !== "string" || body.query_text.trim() === "")
      throw invalid("query_text is required (query_vector is not supported by this index).");
    const numResults = body.num_results ?? 10;
    if (typeof numResults !== "number" || !Number.isInteger(numResults) || numResults < 1 || numResults > MAX_RESULTS)
      throw invalid(`num_results must be between 1 and ${MAX_RESULTS}.`);
    const columns = body.columns;
    if (!Array.isArray(columns) || columns.length === 0 || !columns.every((c) => typeof c === "string"))
      throw invalid("columns must be a non-empty list of column names.");
    const known = new Set(Object.keys(spec.documents[0] ?? {}));
    const unknown = (columns as string[]).find((c) => !known.has(c));
    if (unknown) throw invalid(`Requested columns to fetch are not present in index: ${unknown.slice(0, 64)}`);
    let filters: Filters = {};
    if (body.filters_json !== undefined) {
      try {
        filters = JSON.parse(String(body.filters_json)) as Filters;
        if (!filters || typeof filters !== "object" || Array.isArray(filters)) throw new Error("not an object");
      } catch {
        throw invalid("filters_json must be a JSON object.");
      }
    }
    const queryType = body.query_type ?? "ANN";
    if (queryType !== "ANN" && queryType !== "HYBRID") throw invalid("query_type must be ANN or HYBRID.");
    const threshold = typeof body.score_threshold === "number" ? body.score_threshold : 0;
    const hits = searchKnowledgeBase(indexes.get(spec.name)!, {
      queryText: body.query_text,
      numResults,
      filters,
      queryType,
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
