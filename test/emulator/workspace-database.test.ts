import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import pg from "pg";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { servicePrincipalToken } from "../support/workspace-tokens.js";

// Workspaces share the run's PostgreSQL cluster: each has a database and roles of its own, named apart, and callers
// still see the seed's names.

const WEST_SP = "5e5e0001-0000-4000-8000-000000000001";

let cluster: pg.Client;
const open: LocalWorkspace[] = [];

beforeAll(async () => {
  const { host, port, superuser, password } = inject("postgresCluster");
  cluster = new pg.Client({ host, port, user: superuser, password, database: "postgres" });
  await cluster.connect();
});

afterAll(async () => {
  await Promise.all(open.map((w) => w.close()));
  await cluster?.end();
});

async function start(): Promise<LocalWorkspace> {
  const workspace = await startLocalWorkspace();
  open.push(workspace);
  return workspace;
}

async function whoAmI(workspace: LocalWorkspace): Promise<unknown> {
  const res = await fetch(`${workspace.baseUrl}/api/2.0/sql/statements`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${await servicePrincipalToken(workspace, WEST_SP, "sql")}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      warehouse_id: workspace.context.seed.warehouses[0]!.id,
      statement:
        "SELECT current_user(), current_setting('role'), is_member('west_sales'), count(*) FROM main.sales.deals",
      wait_timeout: "50s",
    }),
  });
  const body = (await res.json()) as { status: { state: string }; result?: { data_array: unknown } };
  expect(body.status.state).toBe("SUCCEEDED");
  return body.result!.data_array;
}

/** The roles of a workspace's database, by its name's hex part (`workspace_<hex>` ↔ `w<hex>.…`). */
async function rolesOf(database: string): Promise<string[]> {
  const prefix = `w${database.replace(/^workspace_/, "")}.`;
  const { rows } = await cluster.query<{ rolname: string }>(
    "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1",
    [prefix],
  );
  return rows.map((r) => r.rolname);
}

describe("workspaces in one cluster", () => {
  it("each has its own database and prefixed roles, and callers see the seed's names in both", async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const [dbA, dbB] = [a.context.engine.database.name, b.context.engine.database.name];
    expect(dbA).not.toBe(dbB);
    const [rolesA, rolesB] = await Promise.all([rolesOf(dbA), rolesOf(dbB)]);
    expect(rolesA).toContain(`w${dbA.slice("workspace_".length)}.${WEST_SP}`);
    expect(rolesA.filter((r) => rolesB.includes(r))).toEqual([]);
    const expected = [[WEST_SP, WEST_SP, "true", expect.stringMatching(/^[1-9]\d*$/)]];
    expect(await whoAmI(a)).toEqual(expected);
    expect(await whoAmI(b)).toEqual(expected);
    // No principal of the workspace is a superuser or may create roles or databases.
    const { rows } = await cluster.query(
      "SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ANY($1) AND (rolsuper OR rolcreaterole OR rolcreatedb)",
      [rolesA],
    );
    expect(rows[0]).toEqual({ n: 0 });
  });

  it("closing a workspace drops its database and roles and leaves the other serving", async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const dbA = a.context.engine.database.name;
    expect((await rolesOf(dbA)).length).toBeGreaterThan(0);
    await a.close();
    open.splice(open.indexOf(a), 1);
    const { rows } = await cluster.query("SELECT count(*)::int AS n FROM pg_database WHERE datname = $1", [dbA]);
    expect(rows[0]).toEqual({ n: 0 });
    expect(await rolesOf(dbA)).toEqual([]);
    expect(await whoAmI(b)).toEqual([[WEST_SP, WEST_SP, "true", expect.any(String)]]);
  });
});
