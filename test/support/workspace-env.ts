import type { LocalWorkspace } from "../../emulator/workspace.js";
import { localWorkspaceEnvironment } from "../../src/config/embedded.js";

/** The environment an operator would set for a real workspace, pointing at this running local one. */
export function operatorEnvironment(workspace: LocalWorkspace): Record<string, string> {
  return localWorkspaceEnvironment(workspace.context.seed, {
    workspaceUrl: workspace.baseUrl,
    idpIssuer: workspace.idp.issuer,
    idpJwksUri: workspace.idp.jwksUri,
  });
}
