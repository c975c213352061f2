import { randomBytes } from "node:crypto";
import pg from "pg";
import { connection, type ClusterAddress } from "../postgres/address.js";
import type { Directory } from "../directory.js";
import type { Seed } from "../seed/schema.js";

/** Postgres' limit on an identifier's length, in bytes (NAMEDATALEN - 1). */
const MAX_IDENTIFIER_BYTES = 63;

export const q = (ident: string) => `"${ident.replace(/"/g, '""')}"`;
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** One workspace's place in a shared cluster: its database, and the prefix that keeps its roles apart from others'. */
export interface WorkspaceDatabase {
  readonly address: ClusterAddress;
  readonly name: string;
  readonly rolePrefix: string;
  /** The cluster-wide role behind a seed principal or group name. */
  role(name: string): string;
  /** The password every login role of this workspace has (never leaves the process). */
  readonly loginPassword: string;
  /** The seed's principals (users' names, service principals' application ids): the roles that may log in. */
  readonly principals: ReadonlySet<string>;
  /** Drops the database and the workspace's roles. */
  drop(): Promise<void>;
}

/** Runs each statement of `sql` in order on one session. */
export async function runAll(client: pg.Client, sql: readonly string[]): Promise<void> {
  for (const statement of sql) await client.query(statement);
}

/**
 * Creates the workspace's database and its cluster-wide roles: the owner of governed data, one NOINHERIT role per
 * group, and one login role per principal (member of its groups, never a superuser).
 */
export async function createWorkspaceDatabase(
  address: ClusterAddress,
  seed: Seed,
  directory: Directory,
): Promise<WorkspaceDatabase> {
  const id = randomBytes(4).toString("hex");
  const name = `workspace_${id}`;
  const rolePrefix = `w${id}.`;
  const role = (n: string) => {
    const full = rolePrefix + n;
    if (Buffer.byteLength(full) > MAX_IDENTIFIER_BYTES)
      throw new Error(`seed name too long for the local workspace's engine (at most 54 bytes): ${n.slice(0, 64)}`);
    return full;
  };
  const loginPassword = randomBytes(18).toString("base64url");
  const principals = new Set([
    ...seed.users.map((u) => u.userName),
    ...seed.servicePrincipals.map((s) => s.applicationId),
  ]);
  const roles = [role("uc_owner"), ...seed.groups.map(role), ...[...principals].map(role)];

  const admin = new pg.Client(connection(address, "postgres"));
  await admin.connect();
  const drop = async () => {
    const client = new pg.Client(connection(address, "postgres"));
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${q(name)} WITH (FORCE)`);
      for (const r of [...roles].reverse()) await client.query(`DROP ROLE IF EXISTS ${q(r)}`);
    } finally {
      await client.end();
    }
  };
  try {
    await admin.query(`CREATE DATABASE ${q(name)} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'`);
    await runAll(admin, [
      `REVOKE ALL ON DATABASE ${q(name)} FROM PUBLIC`,
      `CREATE ROLE ${q(role("uc_owner"))} NOLOGIN`,
      ...seed.groups.map((g) => `CREATE ROLE ${q(role(g))} NOLOGIN NOINHERIT`),
      ...[...principals].map(
        (p) => `CREATE ROLE ${q(role(p))} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${lit(loginPassword)}`,
      ),
      ...[...principals].flatMap((p) =>
        directory
          .groupsOf(p)
          .filter((g) => seed.groups.includes(g))
          .map((g) => `GRANT ${q(role(g))} TO ${q(role(p))}`),
      ),
      ...[...principals].map((p) => `GRANT CONNECT ON DATABASE ${q(name)} TO ${q(role(p))}`),
    ]);
  } catch (error) {
    await drop().catch(() => undefined);
    throw error;
  } finally {
    await admin.end();
  }
  return { address, name, rolePrefix, role, loginPassword, principals, drop };
}
