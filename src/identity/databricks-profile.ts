import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ErrorCodes, IdentityError } from "../errors.js";

/** One section of ~/.databrickscfg (Databricks unified auth); only the keys this server reads. */
export interface DatabricksProfile {
  name: string;
  host?: string;
  token?: string;
  clientId?: string;
  clientSecret?: string;
  authType?: string;
}

export function defaultDatabricksConfigFile(): string {
  return join(homedir(), ".databrickscfg");
}

/** INI sections to key/value maps; `;` and `#` start comments, keys are case-sensitive like the Databricks CLI's. */
export function parseIni(text: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith(";") || line.startsWith("#")) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      current = {};
      sections.set(section[1]!.trim(), current);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq > 0 && current) current[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return sections;
}

/** Reads one profile; a missing file or profile is an error naming what to fix (never the file's secrets). */
export function readDatabricksProfile(name: string, file = defaultDatabricksConfigFile()): DatabricksProfile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new IdentityError(
      ErrorCodes.UNAUTHENTICATED,
      `DATABRICKS_CONFIG_PROFILE=${name}: cannot read ${file} (set DATABRICKS_CONFIG_FILE to its path).`,
    );
  }
  const section = parseIni(text).get(name);
  if (!section)
    throw new IdentityError(
      ErrorCodes.UNAUTHENTICATED,
      `DATABRICKS_CONFIG_PROFILE=${name}: no [${name}] section in ${file}.`,
    );
  return {
    name,
    host: section.host?.replace(/\/+$/, ""),
    token: section.token || undefined,
    clientId: section.client_id || undefined,
    clientSecret: section.client_secret || undefined,
    authType: section.auth_type || undefined,
  };
}

/** The environment with DATABRICKS_HOST filled from the named profile, so a profile alone points at its workspace. */
export function withProfileHost(env: Record<string, string | undefined>): Record<string, string | undefined> {
  if (env.DATABRICKS_HOST || !env.DATABRICKS_CONFIG_PROFILE) return env;
  const profile = readDatabricksProfile(env.DATABRICKS_CONFIG_PROFILE, env.DATABRICKS_CONFIG_FILE || undefined);
  return profile.host ? { ...env, DATABRICKS_HOST: profile.host } : env;
}
