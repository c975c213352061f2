import { ConfigError } from "../config/load.js";
import type { LocalWorkspace } from "../../emulator/workspace.js";

type Env = Record<string, string | undefined>;

const DEFAULT_DEMO_USER = "maria.manager@example.com";
const DEMO_TOKEN_TTL_S = 12 * 3600;

/** True when the environment chooses a stdio identity itself (Databricks unified auth). */
export function namesLocalIdentity(env: Env): boolean {
  return Boolean(
    env.DATABRICKS_TOKEN || env.DATABRICKS_CONFIG_PROFILE || env.DATABRICKS_CLIENT_ID || env.DATABRICKS_AUTH_TYPE,
  );
}

/**
 * The embedded playground over stdio acts as a seeded demo user (MCP_LOCAL_DEMO_USER), so Unity Catalog has someone
 * to govern; the server and `whoami` both ask here, so they agree. Undefined when the environment names an identity.
 */
export async function embeddedDemoUser(
  workspace: LocalWorkspace,
  env: Env,
): Promise<{ user: string; token: string } | undefined> {
  if (namesLocalIdentity(env)) return undefined;
  const user = env.MCP_LOCAL_DEMO_USER ?? DEFAULT_DEMO_USER;
  if (!workspace.context.directory.userByName(user))
    throw new ConfigError(`MCP_LOCAL_DEMO_USER: ${JSON.stringify(user)} is not a user of the local workspace seed.`);
  const { access_token } = await workspace.tokens.issue(user, ["all-apis"], DEMO_TOKEN_TTL_S);
  return { user, token: access_token };
}
