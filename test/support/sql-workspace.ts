import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { servicePrincipalToken } from "./workspace-tokens.js";

/** The seed's executive and west_sales Federation service principals: one sees every row unmasked, one WEST masked. */
export const EXEC_SP = "5e5e0004-0000-4000-8000-000000000004";
export const WEST_SP = "5e5e0001-0000-4000-8000-000000000001";

export interface SqlWorkspace {
  workspace: LocalWorkspace;
  warehouseId: string;
  /** `sql`-scoped workspace tokens of the two principals. */
  execToken: string;
  westToken: string;
}

/** A local workspace for statement tests, with its warehouse and a token for each side of the row filter. */
export async function startSqlWorkspace(
  options: Parameters<typeof startLocalWorkspace>[0] = {},
): Promise<SqlWorkspace> {
  const workspace = await startLocalWorkspace({ genieStepDelayMs: 5, ...options });
  return {
    workspace,
    warehouseId: workspace.context.seed.warehouses[0]!.id,
    execToken: await servicePrincipalToken(workspace, EXEC_SP, "sql"),
    westToken: await servicePrincipalToken(workspace, WEST_SP, "sql"),
  };
}

/** Runs `statement` on the seed's warehouse as the holder of `accessToken`: the statement's state and its rows. */
export async function statementAs(
  workspace: LocalWorkspace,
  accessToken: string,
  statement: string,
): Promise<{ state?: string; rows: (string | null)[][] }> {
  const res = await fetch(`${workspace.baseUrl}/api/2.0/sql/statements`, {
    method: "POST",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ warehouse_id: workspace.context.seed.warehouses[0]!.id, statement, wait_timeout: "30s" }),
  });
  const body = (await res.json()) as { status?: { state: string }; result?: { data_array?: (string | null)[][] } };
  return { state: body.status?.state, rows: body.result?.data_array ?? [] };
}

/** Who the workspace sees behind `accessToken`: its current_user(). */
export async function currentUserOf(workspace: LocalWorkspace, accessToken: string): Promise<unknown> {
  return (await statementAs(workspace, accessToken, "SELECT current_user()")).rows[0]?.[0];
}
