import { startEntraLikeIssuer, type EntraLikeIssuer } from "../../emulator/entra/issuer.js";
import { trustEntraIssuer } from "../../emulator/entra/workspace-trust.js";
import type { LocalWorkspace } from "../../emulator/workspace.js";

/** This server's app registration at the Entra-like tenant: its client id is the audience of users' tokens. */
export const SERVER_APP = { clientId: "5e77e400-0000-4000-8000-00000000a001", clientSecret: "server-app-secret-value" };

/** An Entra-like tenant the local workspace trusts, with this server registered as a confidential client. */
export async function startTrustedEntra(workspace: LocalWorkspace): Promise<EntraLikeIssuer> {
  const entra = await startEntraLikeIssuer({ host: "127.0.0.1", port: 0, clients: [SERVER_APP] });
  trustEntraIssuer(workspace.context, entra);
  return entra;
}

/** The configuration that turns on IdP on-behalf-of against that tenant. */
export function idpOboOverrides(entra: EntraLikeIssuer, extra: Record<string, unknown> = {}) {
  return {
    identity: {
      idpObo: {
        issuer: entra.issuer,
        audience: SERVER_APP.clientId,
        jwksUri: entra.jwksUri,
        tokenEndpoint: entra.tokenEndpoint,
        clientId: SERVER_APP.clientId,
        clientSecret: SERVER_APP.clientSecret,
        ...extra,
      },
    },
  };
}
