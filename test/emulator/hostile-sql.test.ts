import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDeals } from "../../emulator/sql/deals.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { servicePrincipalToken } from "../support/workspace-tokens.js";

// Hostile SQL sent through POST /api/2.0/sql/statements by a restricted principal (the west_sales service
// principal: WEST rows only, margin_pct masked). Every statement must either be refused with a clear error, or
// return only WEST rows with margins NULL: never a leaked row, an unmasked margin, or a changed role.

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- statement responses are probed field by field
type Json = Record<string, any>;
type Cell = string | null;
type Outcome =
  | { kind: "refused"; httpStatus: number; errorCode: string; message: string }
  | { kind: "rows"; columns: string[]; rows: Cell[][] };

const WEST_SP = "5e5e0001-0000-4000-8000-000000000001";
const EXEC_SP = "5e5e0004-0000-4000-8000-000000000004";
/** Databricks ServiceErrorCode values a failed statement may carry. */
const SERVICE_ERROR_CODES = new Set([
  "ABORTED",
  "ALREADY_EXISTS",
  "BAD_REQUEST",
  "CANCELLED",
  "DEADLINE_EXCEEDED",
  "INTERNAL_ERROR",
  "IO_ERROR",
  "NOT_FOUND",
  "RESOURCE_EXHAUSTED",
  "SERVICE_UNDER_MAINTENANCE",
  "TEMPORARILY_UNAVAILABLE",
  "UNAUTHENTICATED",
  "UNKNOWN",
  "WORKSPACE_TEMPORARILY_UNAVAILABLE",
]);

let workspace: LocalWorkspace;
let warehouseId: string;
let westToken: string;
let execToken: string;
let hiddenDealIds: Set<string>;
let westDealCount: number;

const spToken = (applicationId: string) => servicePrincipalToken(workspace, applicationId, "sql");

/** Sends a statement as `token`; the answer is either a refusal (HTTP 400 or FAILED) or the full result. */
async function run(statement: string, parameters?: unknown, token = westToken): Promise<Outcome> {
  const res = await fetch(`${workspace.baseUrl}/api/2.0/sql/statements`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ warehouse_id: warehouseId, statement, parameters, wait_timeout: "50s" }),
  });
  const json = (await res.json()) as Json;
  if (res.status !== 200) {
    expect(res.status).toBe(400);
    return { kind: "refused", httpStatus: res.status, errorCode: json.error_code, message: json.message };
  }
  if (json.status.state === "FAILED") {
    return {
      kind: "refused",
      httpStatus: 200,
      errorCode: json.status.error.error_code,
      message: json.status.error.message,
    };
  }
  expect(json.status.state).toBe("SUCCEEDED");
  const rows: Cell[][] = [...(json.result.data_array ?? [])];
  for (let next = json.result.next_chunk_index; next !== undefined;) {
    const chunk = (await (
      await fetch(`${workspace.baseUrl}/api/2.0/sql/statements/${json.statement_id}/result/chunks/${next}`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as Json;
    rows.push(...chunk.data_array);
    next = chunk.next_chunk_index;
  }
  return { kind: "rows", columns: json.manifest.schema.columns.map((c: Json) => c.name as string), rows };
}

/** Nothing outside WEST and no margin may appear in any answer, whatever its shape. */
function assertNoLeak(outcome: Outcome): void {
  if (outcome.kind === "refused") {
    expect(outcome.message.length).toBeLessThan(2000);
    expect(outcome.message).not.toMatch(/\n\s+at /);
    return;
  }
  for (const row of outcome.rows) {
    for (const cell of row) {
      for (const id of String(cell ?? "").match(/D-\d{6}/g) ?? []) expect(hiddenDealIds.has(id), id).toBe(false);
    }
  }
  outcome.columns.forEach((name, i) => {
    if (/margin/i.test(name)) for (const row of outcome.rows) expect(row[i]).toBeNull();
  });
}

async function expectRefused(statement: string, errorClass: RegExp, parameters?: unknown): Promise<Outcome> {
  const outcome = await run(statement, parameters);
  assertNoLeak(outcome);
  expect(outcome, statement.slice(0, 120)).toMatchObject({ kind: "refused" });
  if (outcome.kind === "refused") {
    if (outcome.httpStatus === 200) expect(SERVICE_ERROR_CODES.has(outcome.errorCode), outcome.errorCode).toBe(true);
    expect(outcome.message).toMatch(errorClass);
  }
  return outcome;
}

async function expectRows(statement: string, parameters?: unknown): Promise<Cell[][]> {
  const outcome = await run(statement, parameters);
  assertNoLeak(outcome);
  if (outcome.kind !== "rows") throw new Error(`expected rows for ${statement.slice(0, 120)}: ${outcome.message}`);
  return outcome.rows;
}

const PERMISSION = /^\[INSUFFICIENT_PERMISSIONS\]/;
const NOT_ALLOWED = /^\[UNSUPPORTED_FEATURE\] Statement type not allowed/;
const ONE_STATEMENT = /^\[PARSE_SYNTAX_ERROR\] Only one statement/;

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 5 });
  warehouseId = workspace.context.seed.warehouses[0]!.id;
  const deals = generateDeals(workspace.context.seed);
  hiddenDealIds = new Set(deals.filter((d) => d.region !== "WEST").map((d) => d.deal_id));
  westDealCount = deals.filter((d) => d.region === "WEST").length;
  westToken = await spToken(WEST_SP);
  execToken = await spToken(EXEC_SP);
}, 60_000);

afterAll(async () => {
  await workspace?.close();
});

describe("reading around the row filter and the column mask", () => {
  it("subqueries see only the caller's rows and masked margins", async () => {
    expect(
      await expectRows("SELECT count(*) FROM (SELECT * FROM main.sales.deals WHERE region <> 'WEST') AS s"),
    ).toEqual([["0"]]);
    expect(
      await expectRows(
        "SELECT (SELECT max(margin_pct) FROM main.sales.deals) AS top_margin, (SELECT count(*) FROM main.sales.deals WHERE region = 'EAST') AS east",
      ),
    ).toEqual([[null, "0"]]);
    expect(
      await expectRows(
        "SELECT count(*) FROM main.sales.deals WHERE deal_id IN (SELECT deal_id FROM main.sales.deals WHERE region = 'CENTRAL')",
      ),
    ).toEqual([["0"]]);
  });

  it("joins (self joins and lateral) add no hidden rows; a join with the private table is refused", async () => {
    expect(
      await expectRows(
        "SELECT a.deal_id, b.deal_id, b.margin_pct FROM main.sales.deals a JOIN main.sales.deals b ON a.account = b.account WHERE b.region <> 'WEST' LIMIT 5",
      ),
    ).toEqual([]);
    expect(
      await expectRows(
        "SELECT count(*) FROM main.sales.deals a CROSS JOIN LATERAL (SELECT margin_pct FROM main.sales.deals b WHERE b.deal_id = a.deal_id) m WHERE m.margin_pct IS NOT NULL",
      ),
    ).toEqual([["0"]]);
    await expectRefused(
      "SELECT d.deal_id, p.margin_pct FROM main.sales.deals d JOIN uc_private.deals p USING (deal_id)",
      PERMISSION,
    );
  });

  it("CTEs (plain and recursive) see the same governed view", async () => {
    expect(
      await expectRows(
        "WITH everything AS (SELECT * FROM main.sales.deals) SELECT region, count(*), max(margin_pct) AS margin FROM everything GROUP BY region",
      ),
    ).toEqual([["WEST", String(westDealCount), null]]);
    expect(
      await expectRows(
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT count(*) FROM main.sales.deals, r WHERE region = 'EAST'",
      ),
    ).toEqual([["0"]]);
  });

  it("UNION with the private table is refused; UNION of the governed view with itself stays governed", async () => {
    await expectRefused(
      "SELECT deal_id, margin_pct FROM main.sales.deals UNION ALL SELECT deal_id, margin_pct FROM uc_private.deals",
      PERMISSION,
    );
    await expectRefused(
      "SELECT deal_id FROM main.sales.deals UNION SELECT deal_id FROM main.uc_private.deals",
      PERMISSION,
    );
    const rows = await expectRows(
      "SELECT deal_id, margin_pct FROM main.sales.deals UNION SELECT deal_id, margin_pct FROM main.sales.deals",
    );
    expect(rows).toHaveLength(westDealCount);
  });

  it("information_schema lists no private table and no column of it", async () => {
    const tables = await expectRows(
      "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    );
    expect(tables).toEqual([["sales", "deals"]]);
    expect(
      await expectRows("SELECT column_name FROM information_schema.columns WHERE table_schema = 'uc_private'"),
    ).toEqual([]);
  });

  it("pg_catalog probes reveal no data: statistics are empty or refused, and file and role functions are refused", async () => {
    expect(await expectRows("SELECT attname FROM pg_catalog.pg_stats WHERE schemaname = 'uc_private'")).toEqual([]);
    await expectRefused("SELECT * FROM pg_catalog.pg_statistic", PERMISSION);
    await expectRefused("SELECT rolpassword FROM pg_catalog.pg_authid", PERMISSION);
    await expectRefused("SELECT * FROM pg_catalog.pg_ls_dir('.')", PERMISSION);
    await expectRefused("SELECT pg_catalog.lo_import('/etc/passwd')", PERMISSION);
  });

  it("a division-by-zero oracle on hidden rows never fires: the row filter runs before the caller's predicates", async () => {
    expect(
      await expectRows(
        "SELECT count(*) FROM main.sales.deals WHERE CASE WHEN region = 'EAST' THEN 1 / (amount - amount) ELSE 0 END = 0",
      ),
    ).toEqual([[String(westDealCount)]]);
    expect(
      await expectRows(
        "SELECT count(*) FROM main.sales.deals WHERE CASE WHEN region <> 'WEST' THEN 1 / (amount - amount) ELSE 1 END = 1",
      ),
    ).toEqual([[String(westDealCount)]]);
    // The same probe on the caller's own rows does fire, so the silence above is the row filter at work.
    await expectRefused(
      "SELECT count(*) FROM main.sales.deals WHERE CASE WHEN region = 'WEST' THEN 1 / (amount - amount) ELSE 0 END = 0",
      /^\[DIVIDE_BY_ZERO\]/,
    );
  });

  it("row-filter bypass through a view or a function: creating one is refused, query_to_xml runs as the caller", async () => {
    await expectRefused("CREATE VIEW public.all_deals AS SELECT * FROM uc_private.deals", NOT_ALLOWED);
    await expectRefused(
      "CREATE FUNCTION public.is_member(g text) RETURNS boolean LANGUAGE sql AS 'SELECT true'",
      NOT_ALLOWED,
    );
    await expectRefused("SELECT query_to_xml('SELECT * FROM uc_private.deals', true, false, '')", PERMISSION);
    const [[xml]] = (await expectRows(
      "SELECT query_to_xml('SELECT deal_id, margin_pct FROM sales.deals WHERE region = ''EAST''', true, false, '')",
    )) as [[string]];
    expect(xml).not.toContain("<deal_id>");
    expect(await expectRows("SELECT is_member('executive'), is_member('west_sales')")).toEqual([["false", "true"]]);
  });

  it("backtick identifiers are identifiers: the governed view stays governed, the private table stays private", async () => {
    expect(
      await expectRows("SELECT `deal_id`, `margin_pct` FROM `main`.`sales`.`deals` WHERE `region` = 'EAST'"),
    ).toEqual([]);
    await expectRefused("SELECT count(*) FROM `uc_private`.`deals`", PERMISSION);
    await expectRefused("SELECT count(*) FROM `main`.`uc_private`.`deals`", PERMISSION);
  });
});

describe("escaping the caller's identity", () => {
  it("SET ROLE, RESET ROLE and SET SESSION AUTHORIZATION are refused", async () => {
    await expectRefused("SET ROLE uc_owner", NOT_ALLOWED);
    await expectRefused(`SET ROLE "${EXEC_SP}"`, NOT_ALLOWED);
    await expectRefused("RESET ROLE", NOT_ALLOWED);
    await expectRefused("SET SESSION AUTHORIZATION postgres", NOT_ALLOWED);
    await expectRefused("SET LOCAL role TO uc_owner", NOT_ALLOWED);
  });

  it("set_config and the pg_settings rewrite rule cannot change the role", async () => {
    await expectRefused("SELECT set_config('role', 'uc_owner', true)", PERMISSION);
    await expectRefused("SELECT pg_catalog.set_config('session_authorization', 'postgres', false)", PERMISSION);
    // pg_settings' rewrite rule turns the update into nothing; the role is unchanged inside and after the statement.
    expect(
      await expectRows(
        "WITH u AS (UPDATE pg_settings SET setting = 'uc_owner' WHERE name = 'role') SELECT current_user(), current_setting('role')",
      ),
    ).toEqual([[WEST_SP, WEST_SP]]);
    await expectRefused(
      "WITH u AS (UPDATE pg_settings SET setting = 'uc_owner' WHERE name = 'role' RETURNING 1) SELECT 1",
      /^\[UNSUPPORTED_FEATURE\]/,
    );
    expect(await expectRows("SELECT current_user(), count(*) FROM main.sales.deals")).toEqual([
      [WEST_SP, String(westDealCount)],
    ]);
    await expectRefused("UPDATE pg_settings SET setting = 'uc_owner' WHERE name = 'role'", NOT_ALLOWED);
  });

  it("current_setting and current_user() show the caller, who is no superuser", async () => {
    expect(await expectRows("SELECT current_user(), current_setting('role'), current_setting('is_superuser')")).toEqual(
      [[WEST_SP, WEST_SP, "off"]],
    );
  });

  it("multiple statements are refused, including behind comments, string escapes and trailing text", async () => {
    await expectRefused("SELECT 1; SELECT * FROM uc_private.deals", ONE_STATEMENT);
    await expectRefused("SELECT 1; SET ROLE uc_owner", ONE_STATEMENT);
    await expectRefused("SELECT 1 /* ; */ ; RESET ROLE", ONE_STATEMENT);
    await expectRefused("SELECT 'a;b'; SELECT 2", ONE_STATEMENT);
    await expectRefused("SELECT E'\\''; SET ROLE uc_owner; --'", ONE_STATEMENT);
    // A single statement may end with a semicolon.
    expect(await expectRows("SELECT count(*) FROM main.sales.deals;")).toEqual([[String(westDealCount)]]);
  });

  it("comments cannot hide a statement keyword or a second statement", async () => {
    expect(
      await expectRows(
        "SELECT/**/count(*)/* ; DROP VIEW sales.deals */FROM main.sales.deals -- ; SELECT * FROM uc_private.deals",
      ),
    ).toEqual([[String(westDealCount)]]);
    await expectRefused("/* SELECT */ SET ROLE uc_owner", NOT_ALLOWED);
    await expectRefused("-- SELECT\nRESET ROLE", NOT_ALLOWED);
    await expectRefused("SELECT 1 -- a line comment ends at a carriage return\r; SET ROLE uc_owner", ONE_STATEMENT);
    await expectRefused("SEL/**/ECT margin_pct FROM uc_private.deals", /^\[/);
    // Block comments nest: everything up to the outer close is comment, as the engine itself reads it.
    expect(
      await expectRows(
        "SELECT /* outer /* inner */ still comment; SET ROLE uc_owner */ count(*) FROM main.sales.deals",
      ),
    ).toEqual([[String(westDealCount)]]);
    await expectRefused("SELECT 1 /* /* unclosed */", /^\[PARSE_SYNTAX_ERROR\] Unterminated comment/);
  });

  it("dollar quoting and DO blocks are refused", async () => {
    await expectRefused("SELECT $$x$$", /^\[PARSE_SYNTAX_ERROR\]/);
    await expectRefused("SELECT $q$ ; SET ROLE uc_owner; $q$", /^\[PARSE_SYNTAX_ERROR\]/);
    await expectRefused("DO $$ BEGIN EXECUTE 'SET ROLE uc_owner'; END $$", /^\[/);
    await expectRefused("DO 'BEGIN PERFORM 1; END'", NOT_ALLOWED);
  });

  it("EXPLAIN, PREPARE/EXECUTE, LISTEN/NOTIFY and COPY are refused", async () => {
    await expectRefused("EXPLAIN SELECT * FROM uc_private.deals", NOT_ALLOWED);
    await expectRefused("EXPLAIN ANALYZE SELECT * FROM main.sales.deals", NOT_ALLOWED);
    await expectRefused("PREPARE leak AS SELECT * FROM uc_private.deals", NOT_ALLOWED);
    await expectRefused("EXECUTE leak", NOT_ALLOWED);
    await expectRefused("LISTEN audit_channel", NOT_ALLOWED);
    await expectRefused("NOTIFY audit_channel, 'x'", NOT_ALLOWED);
    await expectRefused("COPY uc_private.deals TO STDOUT", NOT_ALLOWED);
    await expectRefused("COPY (SELECT 1) TO PROGRAM 'id'", NOT_ALLOWED);
  });

  it("pg_read_file and friends are refused", async () => {
    await expectRefused("SELECT pg_read_file('/etc/passwd')", PERMISSION);
    await expectRefused("SELECT pg_read_binary_file('/etc/passwd')", PERMISSION);
    await expectRefused("SELECT pg_reload_conf()", PERMISSION);
  });
});

describe("changing data and schema", () => {
  it("SELECT … INTO, CREATE, DROP, ALTER, GRANT, UPDATE and DELETE are refused", async () => {
    await expectRefused(
      "SELECT * INTO stolen FROM main.sales.deals",
      /^\[INSUFFICIENT_PERMISSIONS\] This statement may not modify data/,
    );
    await expectRefused("SELECT * INTO TEMP stolen FROM main.sales.deals", /^\[INSUFFICIENT_PERMISSIONS\]/);
    await expectRefused("CREATE TABLE public.t (x int)", NOT_ALLOWED);
    await expectRefused("CREATE TEMP TABLE t AS SELECT * FROM main.sales.deals", NOT_ALLOWED);
    await expectRefused("DROP VIEW sales.deals", NOT_ALLOWED);
    await expectRefused("ALTER VIEW sales.deals RENAME TO d", NOT_ALLOWED);
    await expectRefused(`GRANT executive TO "${WEST_SP}"`, NOT_ALLOWED);
    await expectRefused("UPDATE main.sales.deals SET region = 'WEST'", NOT_ALLOWED);
    await expectRefused("DELETE FROM main.sales.deals", NOT_ALLOWED);
    await expectRefused("WITH d AS (DELETE FROM main.sales.deals RETURNING *) SELECT * FROM d", /^\[/);
  });

  it("INSERT into deals or the audit table by a principal that is not a writer is refused and writes nothing", async () => {
    const auditRows = async () => await run("SELECT count(*) FROM main.governance.mcp_audit", undefined, execToken);
    const before = await auditRows();
    await expectRefused(
      "INSERT INTO main.sales.deals (deal_id, account, region, owner_email, product, amount, quarter, close_date) VALUES ('D-999999', 'x', 'WEST', 'x', 'x', 1, '2026-Q1', DATE '2026-01-01')",
      PERMISSION,
    );
    await expectRefused(
      "INSERT INTO main.governance.mcp_audit (record_id, event_time, outcome) VALUES ('forged', now(), 'allowed')",
      PERMISSION,
    );
    await expectRefused(
      "WITH w AS (INSERT INTO main.governance.mcp_audit (record_id, event_time) VALUES ('forged', now()) RETURNING 1) SELECT * FROM w",
      /^\[/,
    );
    expect(await auditRows()).toEqual(before);
    expect(await expectRows("SELECT count(*) FROM main.sales.deals WHERE deal_id = 'D-999999'")).toEqual([["0"]]);
  });
});

describe("parameters and size", () => {
  it("injection inside parameter values stays a value", async () => {
    const count = "SELECT count(*) FROM main.sales.deals WHERE region = :region";
    for (const value of [
      "WEST' OR '1'='1",
      "EAST",
      "x'; SET ROLE uc_owner; --",
      "' UNION SELECT deal_id FROM uc_private.deals --",
    ]) {
      expect(await expectRows(count, [{ name: "region", value }])).toEqual([["0"]]);
    }
    expect(await expectRows(count, [{ name: "region", value: "WEST" }])).toEqual([[String(westDealCount)]]);
    expect(
      await expectRows("SELECT :v AS echoed", [{ name: "v", value: "$$; SELECT * FROM uc_private.deals; $$" }]),
    ).toEqual([["$$; SELECT * FROM uc_private.deals; $$"]]);
  });

  it("injection in a parameter's type or name is refused", async () => {
    await expectRefused("SELECT :v", /^\[UNSUPPORTED_DATATYPE\]/, [
      { name: "v", value: "1", type: "STRING) FROM uc_private.deals --" },
    ]);
    await expectRefused("SELECT 1", /^\[INVALID_PARAMETER_VALUE\]/, [{ name: "v; DROP VIEW sales.deals", value: "1" }]);
    await expectRefused("SELECT :v", /must be a string/, [{ name: "v", value: 1 }]);
    await expectRefused("SELECT :missing", /^\[UNBOUND_SQL_PARAMETER\]/, []);
  });

  it("very long statements either run governed or fail cleanly, and the engine keeps serving", async () => {
    const padding = "x".repeat(1_000_000);
    expect(
      await expectRows(`SELECT count(*) FROM main.sales.deals /* ${padding} */ WHERE account <> '${padding}'`),
    ).toEqual([[String(westDealCount)]]);
    const wide = `SELECT count(*) FROM main.sales.deals WHERE region = 'EAST'${" OR region = 'CENTRAL'".repeat(1_000)}`;
    expect(await expectRows(wide)).toEqual([["0"]]);
    await expectRefused(`SELECT 1${" + 1".repeat(50_000)}`, /^\[STATEMENT_TOO_COMPLEX\]/);
    await expectRefused(`SELECT ${"(".repeat(50_000)}1${")".repeat(50_000)}`, /^\[PARSE_SYNTAX_ERROR\]/);
    expect(await expectRows("SELECT current_user(), count(*) FROM main.sales.deals")).toEqual([
      [WEST_SP, String(westDealCount)],
    ]);
  });
});

describe("other callers' statements", () => {
  it("a statement id of another principal is 404 for status, chunks and cancel: results never cross callers", async () => {
    const res = await fetch(`${workspace.baseUrl}/api/2.0/sql/statements`, {
      method: "POST",
      headers: { authorization: `Bearer ${execToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        warehouse_id: warehouseId,
        statement: "SELECT deal_id, margin_pct FROM main.sales.deals",
      }),
    });
    const { statement_id: id } = (await res.json()) as Json;
    for (const [method, path] of [
      ["GET", `/api/2.0/sql/statements/${id}`],
      ["GET", `/api/2.0/sql/statements/${id}/result/chunks/0`],
      ["POST", `/api/2.0/sql/statements/${id}/cancel`],
    ] as const) {
      const probe = await fetch(`${workspace.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${westToken}` },
      });
      expect({ path, status: probe.status, body: await probe.json() }).toMatchObject({
        path,
        status: 404,
        body: { error_code: "NOT_FOUND" },
      });
    }
    const own = await fetch(`${workspace.baseUrl}/api/2.0/sql/statements/${id}`, {
      headers: { authorization: `Bearer ${execToken}` },
    });
    expect(((await own.json()) as Json).status.state).toBe("SUCCEEDED");
  });
});

describe("after everything above", () => {
  it("the engine still answers each caller as themselves", async () => {
    expect(await expectRows("SELECT current_user(), count(*), count(margin_pct) FROM main.sales.deals")).toEqual([
      [WEST_SP, String(westDealCount), "0"],
    ]);
    const exec = await run("SELECT current_user(), count(*) FROM main.sales.deals", undefined, execToken);
    expect(exec).toMatchObject({ kind: "rows", rows: [[EXEC_SP, "3000"]] });
  });
});
