import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, WorkspaceClient } from "@databricks/sdk-experimental";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";

// What a client reads before it uses a resource, through the official SDK unchanged: warehouses (with the state a
// test sets through /__admin), Genie spaces, a Vector Search index and its endpoint, a serving endpoint.

const ERIN = "erin.exec@example.com";
// The server's own service principal: CAN_USE on the warehouse, nothing on the space, index or endpoint.
const SERVER_SP = "5e5e0000-0000-4000-8000-00000000a0d1";

let workspace: LocalWorkspace;
let warehouseId: string;
let spaceId: string;
let indexName: string;
let endpointName: string;

beforeAll(async () => {
  workspace = await startLocalWorkspace({ adminRoutes: true });
  const seed = workspace.context.seed;
  warehouseId = seed.warehouses[0]!.id;
  spaceId = seed.genieSpaces[0]!.id;
  indexName = seed.vectorIndexes[0]!.name;
  endpointName = seed.servingEndpoints[0]!.name;
}, 60_000);

afterAll(async () => {
  await workspace?.close();
});

async function clientOf(principal: string, scopes = ["all-apis"]): Promise<WorkspaceClient> {
  const { access_token } = await workspace.tokens.issue(principal, scopes, 3600);
  return new WorkspaceClient({ host: workspace.baseUrl, authType: "pat", token: access_token });
}

async function sdkError(call: Promise<unknown>): Promise<ApiError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

async function admin(path: string, body: unknown): Promise<number> {
  const res = await fetch(`${workspace.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.text();
  return res.status;
}

const setWarehouse = (state: string) => admin("/__admin/warehouse/state", { state });

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe("SQL warehouses", () => {
  it("warehouses.get describes the warehouse, RUNNING; warehouses.list holds it for those with CAN_USE", async () => {
    const client = await clientOf(ERIN);
    expect(await client.warehouses.get({ id: warehouseId })).toMatchObject({
      id: warehouseId,
      name: "Local Serverless Warehouse",
      state: "RUNNING",
      enable_serverless_compute: true,
      health: { status: "HEALTHY" },
    });
    expect((await collect(client.warehouses.list({}))).map((w) => w.id)).toEqual([warehouseId]);
  });

  it("a warehouse revoked from a principal is left out of its listing and refused 403 on get", async () => {
    // The server's service principal holds CAN_USE through its group.
    workspace.faults.revokeWarehouseUse(workspace.context.seed, "mcp_servers");
    try {
      const client = await clientOf(SERVER_SP);
      expect(await collect(client.warehouses.list({}))).toEqual([]);
      expect(await sdkError(client.warehouses.get({ id: warehouseId }))).toMatchObject({
        errorCode: "PERMISSION_DENIED",
        statusCode: 403,
      });
    } finally {
      workspace.faults.restorePermissions();
    }
  });

  it("an unknown warehouse is 404 RESOURCE_DOES_NOT_EXIST; a token without the sql scope is refused first", async () => {
    const client = await clientOf(ERIN);
    expect(await sdkError(client.warehouses.get({ id: "0000000000000000" }))).toMatchObject({
      errorCode: "RESOURCE_DOES_NOT_EXIST",
      statusCode: 404,
    });
    const genieOnly = await clientOf(ERIN, ["dashboards.genie"]);
    const denied = await sdkError(genieOnly.warehouses.get({ id: warehouseId }));
    expect(denied).toMatchObject({ errorCode: "PERMISSION_DENIED", statusCode: 403 });
    expect(denied.message).toContain("sql");
  });

  it("the admin route sets the state; an unknown warehouse or state is refused", async () => {
    const client = await clientOf(ERIN);
    try {
      expect(await setWarehouse("STOPPED")).toBe(200);
      const stopped = await client.warehouses.get({ id: warehouseId });
      expect(stopped.state).toBe("STOPPED");
      expect(stopped).not.toHaveProperty("health");
      expect(await admin("/__admin/warehouse/state", { state: "RUNNING", warehouse_id: "nope" })).toBe(404);
      expect(await setWarehouse("EXPLODED")).toBe(400);
    } finally {
      await setWarehouse("RUNNING");
    }
  });
});

describe("statements on a warehouse that is not running", () => {
  /** Polls until the statement is in none of `states`, bounded generously; the outcome never depends on the bound. */
  async function pollWhile(client: WorkspaceClient, id: string, states: string[]) {
    let polled = await client.statementExecution.getStatement({ statement_id: id });
    for (const end = Date.now() + 30_000; states.includes(polled.status?.state ?? "") && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 20));
      polled = await client.statementExecution.getStatement({ statement_id: id });
    }
    return polled;
  }

  it("stay PENDING while it is STARTING, and run once it is RUNNING", async () => {
    const client = await clientOf(ERIN);
    try {
      await setWarehouse("STARTING");
      const submitted = await client.statementExecution.executeStatement({
        warehouse_id: warehouseId,
        statement: "SELECT count(*) FROM main.sales.deals",
        wait_timeout: "0s",
      });
      expect(submitted.status?.state).toBe("PENDING");
      const ran = workspace.counters.statements.length;
      const still = await client.statementExecution.getStatement({ statement_id: submitted.statement_id! });
      expect(still.status?.state).toBe("PENDING");
      expect(workspace.counters.statements).toHaveLength(ran);
      await setWarehouse("RUNNING");
      // Once the warehouse runs, the statement runs on its engine apart from the REST front end: RUNNING, then done.
      const done = await pollWhile(client, submitted.statement_id!, ["PENDING", "RUNNING"]);
      expect(done.status?.state).toBe("SUCCEEDED");
      expect(done.result?.data_array).toEqual([["3000"]]);
    } finally {
      await setWarehouse("RUNNING");
    }
  });

  it("start a STOPPED warehouse (it turns STARTING), and one cancelled while PENDING never runs", async () => {
    const client = await clientOf(ERIN);
    try {
      await setWarehouse("STOPPED");
      const ran = workspace.counters.statements.length;
      const submitted = await client.statementExecution.executeStatement({
        warehouse_id: warehouseId,
        statement: "SELECT 1",
        wait_timeout: "0s",
      });
      expect(submitted.status?.state).toBe("PENDING");
      expect((await client.warehouses.get({ id: warehouseId })).state).toBe("STARTING");
      await client.statementExecution.cancelExecution({ statement_id: submitted.statement_id! });
      await setWarehouse("RUNNING");
      const after = await client.statementExecution.getStatement({ statement_id: submitted.statement_id! });
      expect(after.status?.state).toBe("CANCELED");
      // Another statement runs through, so the cancelled one had its chance to run and did not.
      const next = await client.statementExecution.executeStatement({
        warehouse_id: warehouseId,
        statement: "SELECT 2",
        wait_timeout: "30s",
      });
      expect(next.status?.state).toBe("SUCCEEDED");
      expect(workspace.counters.statements.slice(ran).map((s) => s.statement)).toEqual(["SELECT 2"]);
    } finally {
      await setWarehouse("RUNNING");
    }
  });
});

describe("Genie spaces", () => {
  it("genie.listSpaces lists the spaces the caller may run; getSpace describes one", async () => {
    const client = await clientOf(ERIN);
    const listed = await client.genie.listSpaces({});
    expect(listed.spaces).toEqual([{ space_id: spaceId, title: "Sales deals", warehouse_id: warehouseId }]);
    expect(await client.genie.getSpace({ space_id: spaceId })).toMatchObject({ space_id: spaceId });
  });

  it("a principal without CAN_RUN lists no space and is refused 403 on get; an unknown space is 404", async () => {
    const client = await clientOf(SERVER_SP);
    expect((await client.genie.listSpaces({})).spaces).toEqual([]);
    expect(await sdkError(client.genie.getSpace({ space_id: spaceId }))).toMatchObject({
      errorCode: "PERMISSION_DENIED",
      statusCode: 403,
    });
    const erin = await clientOf(ERIN);
    expect(await sdkError(erin.genie.getSpace({ space_id: "01f0ffffffffffffffffffffffffffff" }))).toMatchObject({
      errorCode: "RESOURCE_DOES_NOT_EXIST",
      statusCode: 404,
    });
  });
});

describe("Vector Search index and endpoint", () => {
  it("vectorSearchIndexes.getIndex describes the index, ready, on its endpoint", async () => {
    const client = await clientOf(ERIN, ["vectorsearch.vector-search-indexes"]);
    const index = await client.vectorSearchIndexes.getIndex({ index_name: indexName });
    expect(index).toMatchObject({
      name: indexName,
      endpoint_name: "local-vector-search",
      primary_key: "doc_id",
      index_type: "DELTA_SYNC",
      status: { ready: true, indexed_row_count: 14 },
    });
  });

  it("an index is refused 403 to a principal without SELECT, and is 404 when unknown", async () => {
    const stranger = await clientOf(SERVER_SP);
    expect(await sdkError(stranger.vectorSearchIndexes.getIndex({ index_name: indexName }))).toMatchObject({
      errorCode: "PERMISSION_DENIED",
      statusCode: 403,
    });
    const client = await clientOf(ERIN);
    expect(await sdkError(client.vectorSearchIndexes.getIndex({ index_name: "main.knowledge.nope" }))).toMatchObject({
      errorCode: "RESOURCE_DOES_NOT_EXIST",
      statusCode: 404,
    });
  });

  it("vectorSearchEndpoints.getEndpoint is ONLINE; it needs the endpoints scope, not the indexes one", async () => {
    const client = await clientOf(ERIN, ["vectorsearch.vector-search-endpoints"]);
    expect(await client.vectorSearchEndpoints.getEndpoint({ endpoint_name: "local-vector-search" })).toMatchObject({
      name: "local-vector-search",
      endpoint_type: "STANDARD",
      endpoint_status: { state: "ONLINE" },
      num_indexes: 1,
    });
    const indexesOnly = await clientOf(ERIN, ["vectorsearch.vector-search-indexes"]);
    const denied = await sdkError(
      indexesOnly.vectorSearchEndpoints.getEndpoint({ endpoint_name: "local-vector-search" }),
    );
    expect(denied).toMatchObject({ errorCode: "PERMISSION_DENIED", statusCode: 403 });
    expect(denied.message).toContain("vectorsearch.vector-search-endpoints");
    expect(await sdkError(client.vectorSearchEndpoints.getEndpoint({ endpoint_name: "elsewhere" }))).toMatchObject({
      errorCode: "RESOURCE_DOES_NOT_EXIST",
      statusCode: 404,
    });
    const stranger = await clientOf(SERVER_SP);
    expect(
      await sdkError(stranger.vectorSearchEndpoints.getEndpoint({ endpoint_name: "local-vector-search" })),
    ).toMatchObject({ errorCode: "PERMISSION_DENIED", statusCode: 403 });
  });
});

describe("Serving endpoint", () => {
  it("servingEndpoints.get describes the endpoint, READY, with the caller's permission level", async () => {
    const client = await clientOf(ERIN, ["serving.serving-endpoints"]);
    expect(await client.servingEndpoints.get({ name: endpointName })).toMatchObject({
      name: endpointName,
      state: { ready: "READY", config_update: "NOT_UPDATING" },
      permission_level: "CAN_QUERY",
      task: "agent/v1/responses",
    });
  });

  it("is refused 403 to a principal without permission on it, and is 404 when unknown", async () => {
    const stranger = await clientOf(SERVER_SP);
    expect(await sdkError(stranger.servingEndpoints.get({ name: endpointName }))).toMatchObject({
      errorCode: "PERMISSION_DENIED",
      statusCode: 403,
    });
    const client = await clientOf(ERIN);
    expect(await sdkError(client.servingEndpoints.get({ name: "no-such-endpoint" }))).toMatchObject({
      errorCode: "RESOURCE_DOES_NOT_EXIST",
      statusCode: 404,
    });
  });
});
