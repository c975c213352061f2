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
