import { join } from "node:path";

type Env = Record<string, string | undefined>;

/**
 * The per-user state directory of this server (`$XDG_STATE_HOME` or the OS equivalent): where a stdio server keeps
 * its audit spool, since an editor (or a person) may start it from any directory, read-only ones included.
 */
export function userStateDir(env: Env, platform: NodeJS.Platform = process.platform): string | undefined {
  const home = env.HOME ?? env.USERPROFILE;
  const base =
    platform === "win32"
      ? env.LOCALAPPDATA
      : platform === "darwin"
        ? home && join(home, "Library", "Application Support")
        : env.XDG_STATE_HOME || (home && join(home, ".local", "state"));
  return base ? join(base, "databricks-governed-mcp") : undefined;
}

/**
 * The audit spool's default directory outside Databricks Apps (stdio, and HTTP run by hand): under the user state
 * directory, `.spool` only when there is none. The image and deploy/app.yaml set MCP_AUDIT_SPOOL_DIR themselves.
 */
export function defaultSpoolDir(env: Env, platform: NodeJS.Platform = process.platform): string {
  const state = userStateDir(env, platform);
  return state ? join(state, "spool") : ".spool";
}
