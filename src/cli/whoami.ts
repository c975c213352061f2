/**
 * databricks-governed-mcp whoami: who the workspace says the stdio identity is (SCIM Me), with the mode and source
 * that chose it. Never prints a token.
 */
import pino from "pino";
import { embeddedConfigBase } from "../config/embedded.js";
import { WorkspaceHttpClient } from "../databricks/http-client.js";
import { createWorkspaceApi } from "../databricks/workspace-api.js";
import { withProfileHost } from "../identity/databricks-profile.js";
import { createCredentialResolver } from "../identity/strategy-selector.js";
import { catalogToolsFromFile } from "../../tools/catalog/load.js";
import { loadIdentityConfig } from "./login.js";
import { merge } from "../config/load.js";
import { embeddedDemoUser } from "../identity/embedded-demo-user.js";
import { auditDestination, describeAuditDestination } from "../audit/audit-destination.js";

export interface WhoamiReport {
  workspace: string;
  mode: string;
  credential_source: string;
  principal: string;
  display_name: string | null;
  groups: string[];
  token_expires_at: string;
  /** Where this server's audit records go: the audit table, or a local file when no service principal is set. */
  audit: string;
}

export async function runWhoami(options: { env?: Record<string, string | undefined> } = {}): Promise<WhoamiReport> {
  const env = withProfileHost(options.env ?? process.env);
  let base: Record<string, unknown> = {};
  let stopWorkspace = async () => {};
  if (!env.DATABRICKS_HOST) {
    const { startLocalWorkspace } = await import("../../emulator/workspace.js");
    const workspace = await startLocalWorkspace({});
    stopWorkspace = () => workspace.close();
    base = embeddedConfigBase(workspace.context.seed, workspace.baseUrl, workspace.idp.issuer, workspace.idp.jwksUri);
    // As the stdio server does: the embedded playground acts as its demo user, not as the server's service principal.
    const demo = await embeddedDemoUser(workspace, env);
    if (demo) base = merge(base, { identity: { local: { token: demo.token } } });
  }
  const http = new WorkspaceHttpClient(
    String((base.workspace as { host?: string } | undefined)?.host ?? env.DATABRICKS_HOST),
  );
  try {
    const config = loadIdentityConfig(env, base);
    const resolver = createCredentialResolver(config, {
      tools: catalogToolsFromFile(config),
      logger: pino({ level: "silent" }),
    });
    const caller = await resolver.resolve({ transport: "stdio", headers: {} });
    const me = await createWorkspaceApi(http, caller.credential, {
      requestId: "whoami",
      queryTags: { tool: "whoami" },
    }).currentUser();
    const token = await caller.credential.token();
    return {
      workspace: config.workspace.host!,
      mode: caller.identity.mode,
      credential_source: caller.identity.source,
      principal: String(me.userName ?? me.applicationId ?? "unknown"),
      display_name: typeof me.displayName === "string" ? me.displayName : null,
      groups: Array.isArray(me.groups)
        ? (me.groups as { display?: unknown }[]).map((g) => String(g.display ?? "")).filter(Boolean)
        : [],
      token_expires_at: new Date(token.expiresAt * 1000).toISOString(),
      audit: describeAuditDestination(
        auditDestination({ ...config, server: { ...config.server, transport: "stdio" } }),
      ),
    };
  } finally {
    await http.close();
    await stopWorkspace();
  }
}
