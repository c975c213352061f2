import type { TestProject } from "vitest/node";
import { startPostgresCluster } from "../../emulator/postgres/cluster.js";
import type { ClusterAddress } from "../../emulator/postgres/address.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The test run's one PostgreSQL cluster; each local workspace makes a database of its own in it. */
    postgresCluster: ClusterAddress;
  }
}

/** One cluster for the whole run: starting one per workspace would cost half a second each. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startPostgresCluster({ settings: { max_connections: "400" } });
  const { host, port, superuser, password } = cluster;
  project.provide("postgresCluster", { host, port, superuser, password });
  return () => cluster.stop();
}
