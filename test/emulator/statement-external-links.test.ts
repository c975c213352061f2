import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkspaceClient, type sql } from "@databricks/sdk-experimental";
import { tableFromIPC } from "apache-arrow";
import { generateDeals } from "../../emulator/sql/deals.js";
import { LINK_LIFETIME_MS } from "../../emulator/sql/result-links.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { FakeClock } from "../support/fake-clock.js";
import { servicePrincipalToken } from "../support/workspace-tokens.js";

// disposition=EXTERNAL_LINKS: results are fetched from short-lived links the local workspace serves itself, without
// the bearer (the link is the credential, as Databricks' presigned cloud-storage URLs are). The official SDK runs
// the statement and fetches chunk links; the links are fetched with plain HTTP. Link expiry runs on a fake clock.

const EXEC_SP = "5e5e0004-0000-4000-8000-000000000004";
const WEST_SP = "5e5e0001-0000-4000-8000-000000000001";

let workspace: LocalWorkspace;
let clock: FakeClock;
let warehouseId: string;
let execToken: string;

const client = (token = execToken) => new WorkspaceClient({ host: workspace.baseUrl, authType: "pat", token });

async function run(
  statement: string,
  format: sql.Format,
  token = execToken,
  disposition: sql.Disposition = "EXTERNAL_LINKS",
): Promise<sql.StatementResponse> {
  const response = await client(token).statementExecution.executeStatement({
    warehouse_id: warehouseId,
    statement,
    disposition,
    format,
    wait_timeout: "30s",
  });
  expect(response.status?.state).toBe("SUCCEEDED");
  return response;
}

/** Every chunk's link, the first from the response, the others through getStatementResultChunkN. */
async function chunkLinks(response: sql.StatementResponse, token = execToken): Promise<sql.ExternalLink[]> {
  const links = [...response.result!.external_links!];
  for (let next = links.at(-1)!.next_chunk_index; next !== undefined; next = links.at(-1)!.next_chunk_index) {
    const chunk = await client(token).statementExecution.getStatementResultChunkN({
      statement_id: response.statement_id!,
      chunk_index: next,
    });
    expect(chunk.data_array).toBeUndefined();
    links.push(...chunk.external_links!);
  }
  return links;
}

/** A link fetched as a client must fetch it: no Authorization header. */
async function download(link: string): Promise<{ status: number; type: string | null; bytes: Uint8Array }> {
  const res = await fetch(link);
  return { status: res.status, type: res.headers.get("content-type"), bytes: new Uint8Array(await res.arrayBuffer()) };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

beforeAll(async () => {
  clock = new FakeClock(Date.UTC(2026, 5, 1));
  workspace = await startLocalWorkspace({ genieStepDelayMs: 5, clock });
  warehouseId = workspace.context.seed.warehouses[0]!.id;
  execToken = await servicePrincipalToken(workspace, EXEC_SP, "sql");
}, 60_000);

afterAll(async () => {
  await workspace?.close();
});

describe("EXTERNAL_LINKS answers SUCCEEDED with links, in each format", () => {
  const STATEMENT =
    "SELECT d.deal_id, d.amount, d.close_date, n FROM main.sales.deals d CROSS JOIN generate_series(1, 4) AS n ORDER BY n, d.deal_id";

  it("JSON_ARRAY: every chunk's link, fetched without the bearer, holds exactly the rows INLINE returns", async () => {
    const response = await run(STATEMENT, "JSON_ARRAY");
    const manifest = response.manifest!;
    expect(manifest).toMatchObject({ format: "JSON_ARRAY", total_row_count: 12_000, truncated: false });
    expect(manifest.total_chunk_count).toBeGreaterThan(1);
    expect(response.result).not.toHaveProperty("data_array");

    const links = await chunkLinks(response);
    expect(links.map((l) => l.chunk_index)).toEqual(manifest.chunks!.map((c) => c.chunk_index));
    const rows: unknown[][] = [];
    for (const [i, link] of links.entries()) {
      expect(link).toMatchObject({ row_offset: rows.length, row_count: manifest.chunks![i]!.row_count });
      expect(link.expiration).toBe(new Date(clock.now() + LINK_LIFETIME_MS).toISOString());
      const { status, type, bytes } = await download(link.external_link!);
      expect({ status, type }).toEqual({ status: 200, type: "application/json" });
      expect(link.byte_count).toBe(bytes.length);
      expect(manifest.chunks![i]!.byte_count).toBe(bytes.length);
      rows.push(...(JSON.parse(text(bytes)) as unknown[][]));
    }
    expect(manifest.total_byte_count).toBe(links.reduce((n, l) => n + l.byte_count!, 0));

    const inline = await run(STATEMENT, "JSON_ARRAY", execToken, "INLINE");
    const inlineRows = [...inline.result!.data_array!];
    for (let next = inline.result!.next_chunk_index; next !== undefined;) {
      const chunk = await client().statementExecution.getStatementResultChunkN({
        statement_id: inline.statement_id!,
        chunk_index: next,
      });
      inlineRows.push(...chunk.data_array!);
      next = chunk.next_chunk_index;
    }
    expect(rows).toEqual(inlineRows);
  });

  it("CSV: RFC 4180, the header in the first chunk only, NULL written null", async () => {
    const response = await run(
      "SELECT * FROM (VALUES ('plain', 1), ('with, comma', 2), ('with \"quote\"', 3), (NULL, 4)) AS t(label, n) CROSS JOIN generate_series(1, 1500) AS g ORDER BY g, n",
      "CSV",
    );
    expect(response.manifest?.format).toBe("CSV");
    const [first, second] = await chunkLinks(response);
    const head = await download(first!.external_link!);
    expect(head.type).toBe("text/csv");
    expect(text(head.bytes).split("\r\n").slice(0, 6)).toEqual([
      "label,n,g",
      "plain,1,1",
      '"with, comma",2,1',
      '"with ""quote""",3,1',
      "null,4,1",
      "plain,1,2",
    ]);
    const tail = text((await download(second!.external_link!)).bytes).split("\r\n");
    expect(tail[0]).toMatch(/^(plain|"with|null)/);
    expect(tail).not.toContain("label,n,g");
  });

  it("ARROW_STREAM: an Arrow IPC stream with Databricks' column types and the same values", async () => {
    const statement =
      "SELECT deal_id, amount, margin_pct, close_date, region = 'WEST' AS west, 7 AS seven, count(*) OVER () AS total FROM main.sales.deals ORDER BY deal_id LIMIT 50";
    const response = await run(statement, "ARROW_STREAM");
    expect(response.manifest?.format).toBe("ARROW_STREAM");
    const [link] = await chunkLinks(response);
    const { status, type, bytes } = await download(link!.external_link!);
    expect({ status, type }).toEqual({ status: 200, type: "application/vnd.apache.arrow.stream" });
    const table = tableFromIPC(bytes);
    expect(table.schema.fields.map((f) => [f.name, String(f.type)])).toEqual([
      ["deal_id", "Utf8"],
      ["amount", "Decimal[12e+2]"],
      ["margin_pct", "Decimal[5e+2]"],
      ["close_date", "Date32<DAY>"],
      ["west", "Bool"],
      ["seven", "Int32"],
      ["total", "Int64"],
    ]);
    const inline = (await run(statement, "JSON_ARRAY", execToken, "INLINE")).result!.data_array!;
    expect(table.numRows).toBe(inline.length);
    const amounts = table.getChild("amount")!;
    const dates = table.getChild("close_date")!;
    inline.forEach((row, i) => {
      expect(table.getChild("deal_id")!.get(i)).toBe(row[0]);
      // decimal128 holds the unscaled integer: 12345.67 at scale 2 is 1234567.
      const unscaled = amounts.get(i) as Uint32Array;
      expect(unscaled[0]! + unscaled[1]! * 2 ** 32).toBe(Math.round(Number(row[1]) * 100));
      expect(new Date(dates.get(i) as number).toISOString().slice(0, 10)).toBe(row[3]);
      expect(table.getChild("west")!.get(i)).toBe(row[4] === "true");
      expect(table.getChild("total")!.get(i)).toBe(3000n);
    });
  });

  it("INLINE takes JSON_ARRAY only: CSV or ARROW_STREAM inline is refused 400", async () => {
    for (const format of ["CSV", "ARROW_STREAM"]) {
      const res = await fetch(`${workspace.baseUrl}/api/2.0/sql/statements`, {
        method: "POST",
        headers: { authorization: `Bearer ${execToken}`, "content-type": "application/json" },
        body: JSON.stringify({ warehouse_id: warehouseId, statement: "SELECT 1", disposition: "INLINE", format }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE" });
    }
  });
});

describe("links behave as presigned storage URLs", () => {
  it("a link refuses a request that carries a bearer, and an unknown link is refused 403", async () => {
    const [link] = await chunkLinks(await run("SELECT 1 AS one", "JSON_ARRAY"));
    const withBearer = await fetch(link!.external_link!, { headers: { authorization: `Bearer ${execToken}` } });
    expect(withBearer.status).toBe(400);
    expect(await withBearer.text()).toContain("<Code>InvalidArgument</Code>");
    const guessed = await fetch(link!.external_link!.replace(/[^/]+$/, "A".repeat(43)));
    expect(guessed.status).toBe(403);
    expect((await download(link!.external_link!)).status).toBe(200);
  });

  it("a link works until its expiration (15 minutes on the workspace's clock) and is refused after", async () => {
    const response = await run("SELECT 2 AS two", "JSON_ARRAY");
    const [link] = await chunkLinks(response);
    expect(Date.parse(link!.expiration!) - clock.now()).toBe(15 * 60 * 1000);
    await clock.advance(LINK_LIFETIME_MS - 1);
    expect(text((await download(link!.external_link!)).bytes)).toBe('[["2"]]');
    await clock.advance(1);
    const expired = await fetch(link!.external_link!);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain("Request has expired");
    // A new link for the same chunk is issued on request.
    const fresh = await client().statementExecution.getStatementResultChunkN({
      statement_id: response.statement_id!,
      chunk_index: 0,
    });
    expect(text((await download(fresh.external_links![0]!.external_link!)).bytes)).toBe('[["2"]]');
  });

  it("closing the statement ends its links", async () => {
    const response = await run("SELECT 3 AS three", "CSV");
    const [link] = await chunkLinks(response);
    expect((await download(link!.external_link!)).status).toBe(200);
    const closed = await fetch(`${workspace.baseUrl}/api/2.0/sql/statements/${response.statement_id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${execToken}` },
    });
    expect(closed.status).toBe(200);
    expect((await download(link!.external_link!)).status).toBe(403);
  });

  it("the links hold only what the caller may see: WEST rows and masked margins for the west role", async () => {
    const westToken = await servicePrincipalToken(workspace, WEST_SP, "sql");
    const response = await run("SELECT deal_id, region, margin_pct FROM main.sales.deals", "JSON_ARRAY", westToken);
    const rows: (string | null)[][] = [];
    for (const link of await chunkLinks(response, westToken))
      rows.push(...(JSON.parse(text((await download(link.external_link!)).bytes)) as (string | null)[][]));
    const west = generateDeals(workspace.context.seed).filter((d) => d.region === "WEST");
    expect(rows.map((r) => r[0]).sort()).toEqual(west.map((d) => d.deal_id).sort());
    expect(rows.every((r) => r[1] === "WEST" && r[2] === null)).toBe(true);
  });
});
