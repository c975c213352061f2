import { ConfigError } from "./load.js";

type Env = Record<string, string | undefined>;

/**
 * Whether this process starts the embedded local workspace (MCP_EMBEDDED_WORKSPACE): `auto`, the development default,
 * starts it when DATABRICKS_HOST is unset; `off` (the container image and Databricks Apps) never does, so a deployment
 * missing its host fails instead of serving the demo; `on` chooses the demo explicitly.
 */
export function startsEmbeddedWorkspace(env: Env): boolean {
  const choice = (env.MCP_EMBEDDED_WORKSPACE ?? "auto").trim().toLowerCase() || "auto";
  if (!["auto", "on", "off"].includes(choice))
    throw new ConfigError(`MCP_EMBEDDED_WORKSPACE must be auto, on or off, got ${JSON.stringify(choice)}.`);
  const host = env.DATABRICKS_HOST?.trim();
  if (host) {
    if (choice === "on")
      throw new ConfigError("MCP_EMBEDDED_WORKSPACE=on starts the demo workspace: unset it or unset DATABRICKS_HOST.");
    return false;
  }
  if (choice === "off")
    throw new ConfigError(
      "DATABRICKS_HOST is not set: set it to your workspace URL (https://…); this deployment never starts the demo workspace (MCP_EMBEDDED_WORKSPACE=off).",
    );
  return true;
}
