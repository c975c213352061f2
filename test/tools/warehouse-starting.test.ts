import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkspaceHttpClient } from "../../src/databricks/http-client.js";
import { createWorkspaceApi } from "../../src/databricks/workspace-api.js";
import type { GovernedError } from "../../src/errors.js";

/**
 * The local workspace runs every statement at once, so it never shows a warehouse that is still starting. This
 * loopback server answers the Statement Execution API the way a cold warehouse does: the statement stays in the
 * documented PENDING (or RUNNING) state, and `/cancel` is accepted.
 */
let server: Server;
let host: string;
let state: "PENDING" | "RUNNING";
const cancels: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    const send = (body: unknown) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.method === "POST" && req.url === "/api/2.0/sql/statements")
      return send({ statement_id: "01f0-cold", status: { state } });
    if (req.method === "GET" && req.url === "/api/2.0/sql/statements/01f0-cold")
      return send({ statement_id: "01f0-cold", status: { state } });
    if (req.method === "POST" && req.url === "/api/2.0/sql/statements/01f0-cold/cancel") {
      cancels.push(req.url);
      return send({});
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function runUntilDeadline(): Promise<GovernedError> {
  const http = new WorkspaceHttpClient(host);
  const credential = { token: async () => ({ accessToken: "t", expiresAt: Date.now() / 1000 + 600, scopes: ["sql"] }) };
  const api = createWorkspaceApi(http, credential, { requestId: "r1", queryTags: {} });
  try {
    await api.executeStatement({
      warehouseId: "w",
      statement: "SELECT 1",
      parameters: [],
      rowLimit: 1,
      deadline: Date.now() + 600,
    });
    throw new Error("expected a failure");
  } catch (err) {
    return err as GovernedError;
  } finally {
    await http.close();
  }
}

describe("a statement still waiting when the tool's deadline comes", () => {
  it("is WAREHOUSE_STARTING (retry in a minute) when the warehouse never picked it up, and is cancelled", async () => {
    state = "PENDING";
    cancels.length = 0;
    const err = await runUntilDeadline();
    expect(err.code).toBe("WAREHOUSE_STARTING");
    expect(err.details.retryAfterS).toBe(60);
    expect(cancels).toHaveLength(1);
  });

  it("is TIMEOUT when the statement was running, and is cancelled", async () => {
    state = "RUNNING";
    cancels.length = 0;
    const err = await runUntilDeadline();
    expect(err.code).toBe("TIMEOUT");
    expect(cancels).toHaveLength(1);
  });
});
