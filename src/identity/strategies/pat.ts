import type { AccessToken, CredentialSource, CredentialStrategy, ResolvedCaller } from "../types.js";

/** How long a personal access token is assumed valid between checks; the workspace's 401 is the real authority. */
const ASSUMED_LIFETIME_S = 3600;

/** PAT (stdio only): a personal access token as the local developer, from DATABRICKS_TOKEN or a profile. */
export function createPatStrategy(token: string, source: CredentialSource = "env-token"): CredentialStrategy {
  return {
    mode: "pat",
    accepts: () => true,
    async resolve(): Promise<ResolvedCaller> {
      const current = (): AccessToken => ({
        accessToken: token,
        expiresAt: Math.floor(Date.now() / 1000) + ASSUMED_LIFETIME_S,
        scopes: ["all-apis"],
      });
      return {
        identity: { mode: "pat", source, scopes: ["all-apis"] },
        // Always in hand: a call needs no wait, and no bounds around one, to get it.
        credential: { token: async () => current(), current },
      };
    },
  };
}
