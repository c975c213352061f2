import pino from "pino";
import type { LocalWorkspace } from "../../emulator/workspace.js";
import { embeddedConfigBase } from "../../src/config/embedded.js";
import { loadConfig, merge } from "../../src/config/load.js";
import { createCredentialResolver, type CredentialResolver } from "../../src/identity/strategy-selector.js";
import { ALL_TOOLS } from "../../tools/index.js";

/** The configuration the server derives from a running local workspace (its URL, IdP and seed), before overrides. */
export function localConfigBase(workspace: LocalWorkspace): Record<string, unknown> {
  return embeddedConfigBase(workspace.context.seed, workspace.baseUrl, workspace.idp.issuer, workspace.idp.jwksUri);
}

/** A credential resolver as the server builds it against a local workspace, with `overrides` on its configuration. */
export function localResolver(
  workspace: LocalWorkspace,
  overrides: Record<string, unknown> = {},
  now?: () => number,
): CredentialResolver {
  return createCredentialResolver(loadConfig({}, merge(localConfigBase(workspace), overrides)), {
    tools: ALL_TOOLS,
    logger: pino({ level: "silent" }),
    now,
  });
}
