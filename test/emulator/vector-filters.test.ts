import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError as SdkApiError, WorkspaceClient } from "@databricks/sdk-experimental";
import { ApiError } from "../../emulator/http/errors.js";
import { compileFilters, type ColumnTypes, type Doc } from "../../emulator/vectorsearch/filters.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";

// Vector Search `filters_json` in the standard-endpoint syntax, and the three query types, through the official SDK;
// the operators on numeric columns (the seed's documents have none) against compileFilters directly.

let workspace: LocalWorkspace;
let client: WorkspaceClient;
let indexName: string;

beforeAll(async () => {
  workspace = await startLocalWorkspace({});
  indexName = workspace.context.seed.vectorIndexes[0]!.name;
  const { access_token } = await workspace.tokens.issue("erin.exec@example.com", ["all-apis"], 3600);
  client = new WorkspaceClient({ host: workspace.baseUrl, authType: "pat", token: access_token });
}, 60_000);

afterAll(async () => {
  await workspace?.close();
});

/** The doc ids a query returns, sorted; every document is asked for, so the filter alone decides. */
async function idsFor(filters: Record<string, unknown>, queryType = "ANN", queryText = "sales"): Promise<string[]> {
  const response = await client.vectorSearchIndexes.queryIndex({
    index_name: indexName,
    query_text: queryText,
    columns: ["doc_id"],
    num_results: 100,
    query_type: queryType,
    filters_json: JSON.stringify(filters),
  });
  return (response.result?.data_array ?? []).map((row) => String(row[0])).sort();
}

async function refusal(filtersJson: string): Promise<SdkApiError> {
  const err = await client.vectorSearchIndexes
    .queryIndex({ index_name: indexName, query_text: "sales", columns: ["doc_id"], filters_json: filtersJson })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(SdkApiError);
  return err as SdkApiError;
}

const docsWhere = (keep: (doc: Doc) => boolean) =>
  workspace.context.seed.vectorIndexes[0]!.documents.filter(keep)
    .map((d) => String(d.doc_id))
    .sort();

describe("filters_json through the SDK", () => {
  it("LIKE returns the documents whose column contains the word", async () => {
    const playbooks = docsWhere((d) => /\bplaybook\b/i.test(String(d.title)));
    expect(playbooks).toEqual(["kb-003", "kb-004", "kb-005", "kb-014"]);
    expect(await idsFor({ "title LIKE": "playbook" })).toEqual(playbooks);
    expect(await idsFor({ "title LIKE": "PLAYBOOK" })).toEqual(playbooks);
    // Whole words, not fragments; several words must all be present.
    expect(await idsFor({ "title LIKE": "play" })).toEqual([]);
    expect(await idsFor({ "title LIKE": "region playbook" })).toEqual(["kb-003", "kb-004", "kb-005"]);
  });

  it("LIKE with % is a pattern over the whole value", async () => {
    expect(await idsFor({ "title LIKE": "%region%" })).toEqual(["kb-003", "kb-004", "kb-005"]);
    expect(await idsFor({ "title LIKE": "%sheet" })).toEqual(["kb-009", "kb-010"]);
  });

  it("a list is IN, NOT negates a value or a list, and keys are ANDed", async () => {
    expect(await idsFor({ category: ["process", "pricing"] })).toEqual(["kb-007", "kb-011", "kb-012"]);
    expect(await idsFor({ "category NOT": "policy" })).toEqual(docsWhere((d) => d.category !== "policy"));
    expect(await idsFor({ "category NOT": ["policy", "playbook"] })).toEqual(
      docsWhere((d) => d.category !== "policy" && d.category !== "playbook"),
    );
    expect(await idsFor({ category: "playbook", "region NOT": "ALL" })).toEqual(["kb-003", "kb-004", "kb-005"]);
  });

  it('"a OR b" matches either column against its own value', async () => {
    expect(await idsFor({ "region OR category": ["WEST", "pricing"] })).toEqual(["kb-003", "kb-011"]);
  });

  it("comparisons on a string column compare the strings (ISO dates order correctly)", async () => {
    expect(await idsFor({ "updated_at >=": "2026-10-01" })).toHaveLength(14);
    expect(await idsFor({ "updated_at <": "2026-10-01" })).toEqual([]);
    expect(await idsFor({ "updated_at <=": "2026-10-01", "updated_at >": "2026-09-30" })).toHaveLength(14);
  });

  it("an operator the workspace does not know is refused 400 INVALID_PARAMETER_VALUE, never matched as equality", async () => {
    for (const filters of ['{"title CONTAINS": "playbook"}', '{"title ILIKE": "playbook"}', '{"title LIKE x": "a"}']) {
      const err = await refusal(filters);
      expect(err).toMatchObject({ errorCode: "INVALID_PARAMETER_VALUE", statusCode: 400 });
      expect(err.message).toContain("operators are");
    }
  });

  it("an unknown column, a value of the wrong type, or a malformed filter is refused 400", async () => {
    for (const filters of [
      '{"colour": "red"}',
      '{"title <": 5}',
      '{"region": null}',
      '{"region": []}',
      '{"region OR category": ["WEST"]}',
      '"WEST"',
      "{not json",
    ])
      expect(await refusal(filters), filters).toMatchObject({ errorCode: "INVALID_PARAMETER_VALUE", statusCode: 400 });
  });
});

describe("query types", () => {
  it("FULL_TEXT returns only documents holding the keywords, best first, filters applied", async () => {
    const response = await client.vectorSearchIndexes.queryIndex({
      index_name: indexName,
      query_text: "playbook",
      columns: ["doc_id", "title"],
      num_results: 10,
      query_type: "FULL_TEXT",
    });
    const rows = response.result!.data_array!;
    expect(rows.map((r) => String(r[0])).sort()).toEqual(["kb-003", "kb-004", "kb-005", "kb-014"]);
    expect(rows[0]![2]).toBe(1);
    expect(await idsFor({ region: "WEST" }, "FULL_TEXT", "playbook")).toEqual(["kb-003"]);
  });

  it("ANN and HYBRID still rank every candidate; an unknown query_type is refused", async () => {
    expect(await idsFor({ "title LIKE": "playbook" }, "HYBRID")).toEqual(["kb-003", "kb-004", "kb-005", "kb-014"]);
    expect(await idsFor({}, "ANN")).toHaveLength(14);
    const err = await client.vectorSearchIndexes
      .queryIndex({ index_name: indexName, query_text: "x", columns: ["doc_id"], query_type: "KEYWORD" })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ errorCode: "INVALID_PARAMETER_VALUE", statusCode: 400 });
  });
});

describe("compileFilters on numeric columns", () => {
  const docs: Doc[] = [
    { id: 1, price: 100, make: "Ford" },
    { id: 2, price: 250, make: "Toyota" },
    { id: 3, price: 400, make: "Honda" },
  ];
  const columns: ColumnTypes = new Map([
    ["id", "number"],
    ["price", "number"],
    ["make", "string"],
  ]);
  const ids = (filters: unknown) => docs.filter(compileFilters(JSON.stringify(filters), columns)).map((d) => d.id);

  it.each([
    [{ "price <": 250 }, [1]],
    [{ "price <=": 250 }, [1, 2]],
    [{ "price >": 250 }, [3]],
    [{ "price >=": 250 }, [2, 3]],
    [{ "price >=": 200, "price <=": 300 }, [2]],
    [{ id: 2 }, [2]],
    [{ id: [1, 3] }, [1, 3]],
    [{ "id NOT": [1, 3] }, [2]],
    [[{ "price >": 50 }, { make: "Honda" }], [3]],
    [{ "make OR price": ["Ford", 400] }, [1, 3]],
  ])("%j keeps ids %j", (filters, expected) => {
    expect(ids(filters)).toEqual(expected);
  });

  it.each([[{ "price <": "250" }], [{ price: "100" }], [{ "price LIKE": "1" }], [{ "price <>": 1 }], [{ id: true }]])(
    "%j is refused 400 INVALID_PARAMETER_VALUE",
    (filters) => {
      expect(() => ids(filters)).toThrow(ApiError);
      try {
        ids(filters);
      } catch (err) {
        expect(err).toMatchObject({ status: 400, errorCode: "INVALID_PARAMETER_VALUE" });
      }
    },
  );
});
