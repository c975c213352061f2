/** Identities: the server's service principal, each role's exchange, and the caller to check resources as. */
import { auditDestination, describeAuditDestination } from "../../audit/audit-destination.js";
import pino from "pino";
import type { Config } from "../../config/schema.js";
import { createCredentialResolver } from "../../identity/strategy-selector.js";
import { clientCredentials, exchangeToken } from "../../identity/workspace-oauth.js";
import { idpClientCredentials } from "../../identity/idp-oauth.js";
import { createM2MStrategy } from "../../identity/strategies/m2m.js";
import type { ResolvedCaller } from "../../identity/types.js";
import { scopesToRequest } from "../../policy/tool-access.js";
import { catalogToolsFromFile } from "../../../tools/catalog/load.js";
import { reason, type DoctorCheck } from "./report.js";
import { workspaceChecks } from "./resource-checks.js";

/** What the server's own service principal needs: a token, the warehouse, and the audit table it writes. */
export async function checkServerServicePrincipal(config: Config, timeoutMs: number, add: (c: DoctorCheck) => void) {
  const { clientId, clientSecret } = config.identity.m2m;
  const name = "server service principal token";
  if ((!clientId || !clientSecret) && config.server.transport === "stdio") {
    // A stdio user with their own token needs no service principal: the audit goes to a local file.
    add({
      name,
      status: "ok",
      detail: `none needed over stdio: ${describeAuditDestination(auditDestination(config))}`,
    });
    return;
  }
  if (!clientId || !clientSecret) {
    add({
      name,
      status: "fail",
      detail: "no DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET: the audit writer has no identity",
      fix: "Create an OAuth secret for the server's service principal and set DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET.",
    });
    return;
  }
  try {
    const token = await clientCredentials(config.workspace.host!, clientId, clientSecret, ["sql"]);
    const inS = Math.round(token.expiresAt - Date.now() / 1000);
    add({
      name,
      status: "ok",
      detail: `client credentials for ${clientId}: token valid ${inS} s, scopes ${token.scopes.join(" ")}`,
    });
  } catch (err) {
    add({
      name,
      status: "fail",
      detail: reason(err),
      fix: `Check DATABRICKS_CLIENT_ID (${clientId}) and its OAuth secret; the service principal must belong to this workspace.`,
    });
    return;
  }
  const server = await createM2MStrategy(config, ["sql"]).resolve({ transport: "stdio", headers: {} });
  const checks = workspaceChecks(config, server, timeoutMs, add);
  const { warehouseId, auditTable } = config.workspace;
  try {
    await checks.attempt(
      `warehouse ${warehouseId}`,
      async () => (await checks.sql("SELECT 1"), "SELECT 1 succeeded"),
      `Check DATABRICKS_WAREHOUSE_ID and grant CAN_USE on it to ${checks.who} (the audit writer).`,
    );
    await checks.attempt(
      `audit table ${auditTable}`,
      async () => (await checks.sql(`SELECT count(*) FROM ${auditTable}`), "readable"),
      `Create ${auditTable} (MCP_AUDIT_TABLE) and grant ${checks.who} SELECT and MODIFY on it.`,
    );
  } finally {
    await checks.close();
  }
}

/** Where the server itself obtains each role's subject token (per-role IdP clients), every role's exchange is tried. */
export async function checkRoleExchanges(config: Config, add: (c: DoctorCheck) => void): Promise<void> {
  const { issuers, roleToServicePrincipal } = config.identity.federation;
  const tools = catalogToolsFromFile(config);
  for (const issuer of issuers.filter((i) => i.subjectTokenSource === "idp-client-credentials")) {
    for (const [role, sp] of Object.entries(roleToServicePrincipal)) {
      const name = `role ${role} token exchange`;
      const client = Object.hasOwn(issuer.idpClients, role) ? issuer.idpClients[role] : undefined;
      if (!client) {
        add({
          name,
          status: "fail",
          detail: `no IdP client for role ${role} at ${issuer.issuer}`,
          fix: `Add identity.federation.issuers[].idpClients.${role} (clientId, clientSecret) in MCP_CONFIG_FILE.`,
        });
        continue;
      }
      // As the server asks: only the scopes of the tools this role may call.
      const scopes = scopesToRequest({ mode: "federation", role }, config, tools);
      if (scopes.length === 0) {
        add({
          name,
          status: "warn",
          detail: `role ${role} may call no tool, so the server never exchanges a token for it`,
          fix: `Give role ${role} tools in policy.rbac (MCP_RBAC), or remove it from MCP_ROLE_TO_SERVICE_PRINCIPAL.`,
        });
        continue;
      }
      try {
        const subject = await idpClientCredentials(issuer.issuer, client.clientId, client.clientSecret);
        const token = await exchangeToken(config.workspace.host!, subject.accessToken, sp, scopes);
        add({
          name,
          status: "ok",
          detail: `IdP client ${client.clientId} exchanged for service principal ${sp}, scopes ${token.scopes.join(" ")}`,
        });
      } catch (err) {
        add({
          name,
          status: "fail",
          detail: reason(err),
          fix: `Check the IdP client ${client.clientId}, and a federation policy on service principal ${sp} matching its tokens (issuer, audience, subject ${client.clientId}).`,
        });
      }
    }
  }
}

/** The caller doctor checks resources as: a given caller token (Federation or OBO), else DATABRICKS_TOKEN (stdio). */
export async function resolveCaller(
  config: Config,
  callerToken: string | undefined,
  add: (c: DoctorCheck) => void,
): Promise<ResolvedCaller | undefined> {
  const resolver = createCredentialResolver(config, {
    tools: catalogToolsFromFile(config),
    logger: pino({ level: "silent" }),
  });
  if (!callerToken) {
    const { token, profile } = config.identity.local;
    if (token || profile) {
      try {
        return await resolver.resolve({ transport: "stdio", headers: {} });
      } catch (err) {
        add({
          name: "local credential",
          status: "fail",
          detail: reason(err),
          fix: "Check DATABRICKS_TOKEN or the DATABRICKS_CONFIG_PROFILE profile in ~/.databrickscfg.",
        });
        return undefined;
      }
    }
    const roles = Object.keys(config.identity.federation.roleToServicePrincipal);
    add({
      name: "caller checks",
      status: "skip",
      detail: `no caller token given${roles.length > 0 ? `; ${roles.length} Federation role(s) mapped (${roles.join(", ")})` : ""}`,
      fix: "Run `doctor --caller-token <token>` (or MCP_DOCTOR_CALLER_TOKEN) with a real user's IdP JWT or workspace token to check the token exchange and the resources of the catalog's tools as that caller.",
    });
    return undefined;
  }
  try {
    return await resolver.resolve({ transport: "http", headers: { authorization: `Bearer ${callerToken}` } });
  } catch (err) {
    add({
      name: "caller token",
      status: "fail",
      detail: `refused here: ${reason(err)}`,
      fix: "Check the IdP issuer, audience (MCP_FEDERATION_AUDIENCE), role claim and MCP_ROLE_TO_SERVICE_PRINCIPAL.",
    });
    return undefined;
  }
}
