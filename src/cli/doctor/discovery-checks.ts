/** Reachability and discovery: the workspace's OAuth metadata and each Federation IdP's OIDC configuration. */
import type { Config } from "../../config/schema.js";
import { short, type DoctorCheck } from "./report.js";

async function getJson(url: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
}

export async function checkWorkspace(config: Config, timeoutMs: number, add: (c: DoctorCheck) => void): Promise<void> {
  const host = config.workspace.host!;
  const url = `${host}/oidc/.well-known/oauth-authorization-server`;
  let answer: { status: number; body: unknown };
  try {
    answer = await getJson(url, timeoutMs);
  } catch (err) {
    add({
      name: "workspace reachable",
      status: "fail",
      detail: `${host} did not answer (${short(String((err as Error).cause ?? (err as Error).message), 120)})`,
      fix: "Check DATABRICKS_HOST (https://<workspace>.cloud.databricks.com), DNS, and any proxy or firewall between here and the workspace.",
    });
    return;
  }
  add({ name: "workspace reachable", status: "ok", detail: `${host} answered HTTP ${answer.status}` });
  const metadata = answer.body as { token_endpoint?: unknown } | undefined;
  if (answer.status === 200 && typeof metadata?.token_endpoint === "string") {
    add({ name: "workspace OIDC discovery", status: "ok", detail: `token endpoint ${metadata.token_endpoint}` });
  } else {
    add({
      name: "workspace OIDC discovery",
      status: "fail",
      detail: `${url} answered HTTP ${answer.status} without a token_endpoint`,
      fix: "DATABRICKS_HOST must be the workspace URL itself, without a path (not the account console).",
    });
  }
}

export async function checkIdp(
  issuer: Config["identity"]["federation"]["issuers"][number],
  timeoutMs: number,
  add: (c: DoctorCheck) => void,
): Promise<void> {
  const name = `IdP discovery ${issuer.issuer}`;
  try {
    const { status, body } = await getJson(
      `${issuer.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`,
      timeoutMs,
    );
    const doc = body as { issuer?: unknown; jwks_uri?: unknown } | undefined;
    if (status !== 200 || !doc) {
      add({ name, status: "fail", detail: `discovery answered HTTP ${status}`, fix: "Check MCP_FEDERATION_ISSUER." });
      return;
    }
    if (doc.issuer !== issuer.issuer) {
      add({
        name,
        status: "fail",
        detail: `the IdP calls itself ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer.issuer)}`,
        fix: "Set MCP_FEDERATION_ISSUER to the IdP's issuer exactly (a trailing slash matters); tokens are matched on it.",
      });
      return;
    }
    const jwksUri = issuer.jwksUri ?? (typeof doc.jwks_uri === "string" ? doc.jwks_uri : undefined);
    if (!jwksUri) {
      add({ name, status: "fail", detail: "no jwks_uri", fix: "Set MCP_FEDERATION_JWKS_URI." });
      return;
    }
    const jwks = await getJson(jwksUri, timeoutMs);
    const keys = (jwks.body as { keys?: unknown[] } | undefined)?.keys ?? [];
    if (jwks.status !== 200 || keys.length === 0) {
      add({
        name,
        status: "fail",
        detail: `JWKS ${jwksUri} has no keys (HTTP ${jwks.status})`,
        fix: "Check the JWKS URL.",
      });
      return;
    }
    add({ name, status: "ok", detail: `issuer matches; ${keys.length} signing key(s); audience ${issuer.audience}` });
  } catch (err) {
    add({
      name,
      status: "fail",
      detail: `unreachable (${short(String((err as Error).message), 120)})`,
      fix: "Check MCP_FEDERATION_ISSUER and the network path to the IdP.",
    });
  }
}
