import type pg from "pg";

/** Where a PostgreSQL cluster listens and its superuser: all a workspace needs to make a database of its own in it. */
export interface ClusterAddress {
  host: string;
  port: number;
  superuser: string;
  password: string;
}

/** A cluster started once for many workspaces (a test run's), used when a workspace is given none of its own. */
let shared: ClusterAddress | undefined;

/** Makes later workspaces of this process build their databases in `address` instead of starting a cluster each. */
export function shareClusterWithWorkspaces(address: ClusterAddress | undefined): void {
  shared = address;
}

export function sharedCluster(): ClusterAddress | undefined {
  return shared;
}

/** Session settings every connection of the engine starts with: UTC and ISO dates, so values read the same everywhere. */
const SESSION_OPTIONS = "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=iso_8601 -c extra_float_digits=1";

/** Client settings for `database`, as the superuser unless a login is given. */
export function connection(
  address: ClusterAddress,
  database: string,
  login: { user: string; password: string } = { user: address.superuser, password: address.password },
): pg.ClientConfig {
  return {
    host: address.host,
    port: address.port,
    database,
    ...login,
    options: SESSION_OPTIONS,
    application_name: "local-workspace",
  };
}
