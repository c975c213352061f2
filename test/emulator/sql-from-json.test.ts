import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkspaceClient } from "@databricks/sdk-experimental";
import type { LocalWorkspace } from "../../emulator/workspace.js";
import { structFields } from "../../emulator/sql/inline-from-json.js";
import { startSqlWorkspace } from "../support/sql-workspace.js";

// `inline(from_json(:json, 'ARRAY<STRUCT<…>>'))` as a FROM item, sent by the official SDK: a JSON array bound as one
// STRING parameter reads as rows, each field as `from_json` reads it in its default mode.

let workspace: LocalWorkspace;
let client: WorkspaceClient;
let warehouseId: string;

beforeAll(async () => {
  let execToken: string;
  ({ workspace, warehouseId, execToken } = await startSqlWorkspace());
  client = new WorkspaceClient({ host: workspace.baseUrl, authType: "pat", token: execToken });
}, 60_000);

afterAll(async () => {
  await workspace?.close();
});

const SCHEMA = "ARRAY<STRUCT<id: STRING, n: INT, at: TIMESTAMP, ok: BOOLEAN, x: DOUBLE>>";

/** Runs `statement` with `:json` bound to `json`: its state, error and rows. */
async function run(statement: string, json: string) {
  const res = await client.statementExecution.executeStatement({
    warehouse_id: warehouseId,
    statement,
    parameters: [{ name: "json", value: json, type: "STRING" }],
    wait_timeout: "30s",
  });
  return { state: res.status?.state, error: res.status?.error, rows: res.result?.data_array ?? [] };
}

const select = `SELECT id, n, at, ok, x FROM inline(from_json(:json, '${SCHEMA}')) AS s ORDER BY id`;

describe("inline(from_json(…)) reads a JSON array bound as one parameter", () => {
  const cases: [name: string, json: unknown, rows: (string | null)[][]][] = [
    [
      "each element a row, each field its type",
      [
        { id: "a", n: 12, at: "2026-11-29T10:27:32.306Z", ok: true, x: 1.5 },
        { id: "b", n: -3, at: "2026-01-02T03:04:05Z", ok: false, x: 2 },
      ],
      [
        ["a", "12", "2026-11-29T10:27:32.306Z", "true", "1.5"],
        ["b", "-3", "2026-01-02T03:04:05.000Z", "false", "2"],
      ],
    ],
    [
      "a field that does not read as its type is null, and the rest of the row is kept",
      [
        { id: "c", n: "12", at: "now", ok: "yes", x: "many" },
        { id: "d", n: 1.5, at: 7, ok: 1, x: "NaN" },
      ],
      [
        ["c", null, null, null, null],
        ["d", null, null, null, "NaN"],
      ],
    ],
    [
      "a missing field is null, an unknown one ignored, any value read as STRING text",
      [{ id: { nested: [1, 2] }, extra: "ignored" }],
      [['{"nested": [1, 2]}', null, null, null, null]],
    ],
    ["a lone object is an array of one", { id: "e", n: 5 }, [["e", "5", null, null, null]]],
    ["text that is not JSON gives no rows", "[{not json", []],
    ["JSON that is not an array or an object gives no rows", 42, []],
    [
      "an element that is not an object is a row of nulls",
      [7, { id: "f" }],
      [
        ["f", null, null, null, null],
        [null, null, null, null, null],
      ],
    ],
  ];

  it.each(cases)("%s", async (_name, json, rows) => {
    const text = typeof json === "string" ? json : JSON.stringify(json);
    const result = await run(select, text);
    expect(result.state).toBe("SUCCEEDED");
    expect(result.rows).toEqual(rows);
  });

  it("reads 300 records from one parameter (a statement binds at most 256 on Databricks)", async () => {
    const records = Array.from({ length: 300 }, (_, i) => ({ id: `r${String(i).padStart(3, "0")}`, n: i }));
    const count = `SELECT count(*), sum(n) FROM inline(from_json(:json, '${SCHEMA}')) AS s WHERE s.n >= 0`;
    const result = await run(count, JSON.stringify(records));
    expect(result.rows).toEqual([["300", String((299 * 300) / 2)]]);
  });

  it("takes no alias, a backticked one, and `name TYPE` fields without the colon", async () => {
    const json = JSON.stringify([{ id: "g", n: 1 }]);
    expect(
      (await run(`SELECT id FROM inline(from_json(:json, 'array<struct<id string, n int>>')) WHERE n = 1`, json)).rows,
    ).toEqual([["g"]]);
    expect((await run(`SELECT \`t\`.id FROM inline(from_json(:json, '${SCHEMA}')) \`t\``, json)).rows).toEqual([["g"]]);
  });
});

describe("inline(from_json(…)) refuses what this warehouse does not read", () => {
  const refused: [name: string, statement: string, errorClass: string][] = [
    ["inline of anything but from_json", "SELECT * FROM inline(array(struct(1, 'a')))", "UNSUPPORTED_FEATURE"],
    [
      "a schema that is not an array of structs",
      "SELECT * FROM inline(from_json(:json, 'STRUCT<a: INT>'))",
      "UNSUPPORTED_FEATURE",
    ],
    ["a nested field type", "SELECT * FROM inline(from_json(:json, 'ARRAY<STRUCT<a: ARRAY<INT>>>'))", "INVALID_SCHEMA"],
    [
      "an unknown field type",
      "SELECT * FROM inline(from_json(:json, 'ARRAY<STRUCT<a: VARIANT>>'))",
      "UNSUPPORTED_DATATYPE",
    ],
    [
      "SQL in a field's type",
      "SELECT * FROM inline(from_json(:json, 'ARRAY<STRUCT<a: INT) AS x FROM pg_authid; -->>'))",
      "UNSUPPORTED_DATATYPE",
    ],
    [
      "column aliases after the alias",
      "SELECT * FROM inline(from_json(:json, 'ARRAY<STRUCT<a: INT>>')) AS s(b)",
      "UNSUPPORTED_FEATURE",
    ],
  ];

  it.each(refused)("%s", async (_name, statement, errorClass) => {
    const result = await run(statement, "[]");
    expect(result.state).toBe("FAILED");
    expect(result.error?.message).toContain(`[${errorClass}]`);
  });

  it("keeps a backticked field name with a quote a name, never SQL", async () => {
    const json = JSON.stringify([{ "a'b\"c": "x" }]);
    const result = await run("SELECT * FROM inline(from_json(:json, 'ARRAY<STRUCT<`a\\'b\"c`: STRING>>'))", json);
    // Databricks reads \' in a literal as a quote; this warehouse refuses escapes in the schema rather than guess.
    expect(result.state).toBe("FAILED");
    expect(result.error?.message).toContain("[UNSUPPORTED_FEATURE]");
    const plain = await run(
      "SELECT * FROM inline(from_json(:json, 'ARRAY<STRUCT<`a\"b`: STRING>>'))",
      JSON.stringify([{ 'a"b': "x" }]),
    );
    expect(plain).toMatchObject({ state: "SUCCEEDED", rows: [["x"]] });
  });

  it("reads field names plain or backticked, and DECIMAL(p, s) as one type", () => {
    expect(structFields("ARRAY<STRUCT<`a b`: DECIMAL(10, 2), c STRING>>")).toEqual([
      ["a b", "DECIMAL(10, 2)"],
      ["c", "STRING"],
    ]);
  });
});
