import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgresCluster, type PostgresCluster } from "../../../emulator/postgres/cluster.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../../emulator/workspace.js";
import type { App } from "../../../src/app.js";
import { merge } from "../../../src/config/load.js";
import { brokerOverrides, freePort, serverTokensFor } from "../../support/broker.js";
import { startHttpApp } from "../../support/http-app.js";
import { rpc, toolAnswer, toolCall } from "../../security/support.js";

/** Two replicas behind one public address, sharing the broker's sealing key and a PostgreSQL store. */
let cluster: PostgresCluster;
let workspace: LocalWorkspace;
let replicaA: { app: App; mcpUrl: string };
let replicaB: { app: App; mcpUrl: string };
let publicUrl: string;

beforeAll(async () => {
  cluster = await startPostgresCluster();
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
  const [portA, portB] = [await freePort(), await freePort()];
  const shared = brokerOverrides(workspace, portA, {
    store: cluster.url(),
    tokenKey: randomBytes(32).toString("base64"),
  });
  publicUrl = shared.server.publicUrl;
  replicaA = await startHttpApp(workspace, { overrides: shared });
  replicaB = await startHttpApp(workspace, { overrides: merge(shared, { server: { port: portB } }) });
}, 120_000);
afterAll(async () => {
  await replicaA?.app.stop();
  await replicaB?.app.stop();
  await workspace?.close();
  await cluster?.stop();
});

const REDIRECT = "http://127.0.0.1:47994/cb";

/** Signs in at replica A and redeems the code at replica B: the sign-in lives in the shared store, not in A's memory. */
const signIn = (user: string) => serverTokensFor(publicUrl, user, REDIRECT, replicaB.app.http!.url);

describe("the broker across replicas (a shared PostgreSQL store)", () => {
  it("a user signed in at one replica calls tools at the other; signing out at one ends access at both", async () => {
    const tokens = await signIn("erin.exec@example.com");
    const bearer = { authorization: `Bearer ${tokens.access_token}` };
    for (const replica of [replicaA, replicaB]) {
      const answer = toolAnswer(await rpc(replica.mcpUrl, toolCall("check_identity", {}), bearer));
      expect(answer.isError, answer.text).toBe(false);
      expect(answer.structured).toMatchObject({ mode: "brokered", workspace_principal: "erin.exec@example.com" });
    }
    const revoked = await fetch(`${replicaA.app.http!.url}/oauth/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: tokens.refresh_token }),
    });
    expect(revoked.status).toBe(200);
    expect(toolAnswer(await rpc(replicaB.mcpUrl, toolCall("check_identity", {}), bearer)).code).toBe("TOKEN_EXPIRED");
  });

  it("the store holds only sealed values: no workspace token, no user name in any row", async () => {
    await signIn("frank.finance@example.com");
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: cluster.url() });
    await client.connect();
    try {
      const { rows } = await client.query<{ key: string; value: string }>("SELECT key, value FROM mcp_broker_records");
      expect(rows.length).toBeGreaterThan(0);
      const text = JSON.stringify(rows);
      expect(text).not.toContain("frank.finance");
      expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/);
    } finally {
      await client.end();
    }
  });
});
