import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgresCluster, type PostgresCluster } from "../../../emulator/postgres/cluster.js";
import { checkQuotaStore } from "../../../src/cli/doctor/quota-checks.js";
import type { DoctorCheck } from "../../../src/cli/doctor.js";
import { loadConfig } from "../../../src/config/load.js";
import { QuotaStore } from "../../../src/quota/quota-store.js";
import pino from "pino";
import { systemClock } from "../../../src/clock.js";

const minimal = {
  DATABRICKS_HOST: "https://example.cloud.databricks.com",
  DATABRICKS_WAREHOUSE_ID: "wh1",
  DATABRICKS_GENIE_SPACE_ID: "sp1",
};

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgresCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

async function check(env: Record<string, string>): Promise<DoctorCheck> {
  const checks: DoctorCheck[] = [];
  await checkQuotaStore(loadConfig({ ...minimal, ...env }), 5000, (c) => checks.push(c));
  expect(checks).toHaveLength(1);
  return checks[0]!;
}

describe("doctor: the quota store", () => {
  it("is fine in memory for one process, and warns when replicas would each count alone", async () => {
    expect(await check({})).toMatchObject({ status: "ok", detail: "in memory (one process)" });
    const warned = await check({ MCP_QUOTA_REPLICAS: "3" });
    expect(warned).toMatchObject({ status: "warn" });
    expect(warned.fix).toMatch(/MCP_QUOTA_STORE/);
  });

  it("reports a reachable PostgreSQL store, before and after the server created its tables", async () => {
    expect(await check({ MCP_QUOTA_STORE: cluster.url() })).toMatchObject({
      status: "ok",
      detail: expect.stringMatching(/will be created at first use/),
    });
    const config = loadConfig({ ...minimal, MCP_QUOTA_STORE: cluster.url() });
    const store = QuotaStore.open(config.quota, pino({ level: "silent" }), systemClock);
    await store.take("c:doctor", 1);
    await store.close();
    expect(await check({ MCP_QUOTA_STORE: cluster.url() })).toMatchObject({
      status: "ok",
      detail: expect.stringMatching(/tables exist/),
    });
  });

  it("fails an unreachable or refusing store, naming MCP_QUOTA_STORE and never its password", async () => {
    const wrong = cluster.url().replace(encodeURIComponent(cluster.password), "not-the-password");
    const refused = await check({ MCP_QUOTA_STORE: wrong });
    expect(refused).toMatchObject({ status: "fail" });
    expect(refused.fix).toMatch(/MCP_QUOTA_STORE/);
    expect(JSON.stringify(refused)).not.toContain("not-the-password");
    expect(JSON.stringify(refused)).not.toContain(cluster.password);
  });
});
