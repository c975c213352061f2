import type { LocalWorkspace } from "../../emulator/workspace.js";

/** A workspace token of a seeded service principal, by client credentials at /oidc/v1/token (the real grant). */
export async function servicePrincipalToken(
  workspace: LocalWorkspace,
  applicationId: string,
  scope = "all-apis",
): Promise<string> {
  const sp = workspace.context.seed.servicePrincipals.find((s) => s.applicationId === applicationId);
  if (!sp) throw new Error(`no service principal ${applicationId} in the seed`);
  const res = await fetch(`${workspace.baseUrl}/oidc/v1/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: sp.applicationId,
      client_secret: sp.secret,
      scope,
    }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`client credentials refused: HTTP ${res.status}`);
  return body.access_token;
}
