import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Directory } from "../../emulator/directory.js";
import { OAuthError } from "../../emulator/http/errors.js";
import { matchFederation } from "../../emulator/oidc/federation.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";

// The host metadata the newest SDKs (databricks-sdk-py `Config._resolve_host_metadata`, databricks-sdk-go
// `resolveHostMetadata`) read before anything else, and the default audience they then put on federated tokens.

const WEST_SP = "5e5e0001-0000-4000-8000-000000000001";
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";

let workspace: LocalWorkspace;
beforeAll(async () => {
  workspace = await startLocalWorkspace({});
}, 60_000);
afterAll(async () => {
  await workspace?.close();
});

interface HostMetadata {
  oidc_endpoint: string;
  account_id: string;
  workspace_id: string;
  cloud: string;
  token_federation_default_oidc_audiences: string[];
}

async function hostMetadata(): Promise<HostMetadata> {
  const res = await fetch(`${workspace.baseUrl}/.well-known/databricks-config`);
  expect(res.status).toBe(200);
  return (await res.json()) as HostMetadata;
}

async function exchange(
  subjectToken: string,
  clientId?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const form: Record<string, string> = {
    grant_type: TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: JWT_TYPE,
    scope: "sql",
  };
  if (clientId) form.client_id = clientId;
  const res = await fetch(`${workspace.baseUrl}/oidc/v1/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("GET /.well-known/databricks-config", () => {
  it("answers without credentials with the OIDC root, account and workspace ids, cloud and default audience", async () => {
    const meta = await hostMetadata();
    const { accountId, workspaceId } = workspace.context.seed.workspace;
    expect(meta).toEqual({
      oidc_endpoint: `${workspace.baseUrl}/oidc`,
      account_id: accountId,
      workspace_id: workspaceId,
      cloud: "AWS",
      token_federation_default_oidc_audiences: [`${workspace.baseUrl}/oidc/v1/token`],
    });
  });

  it("leads, as the SDKs follow it, to the authorization server metadata whose token endpoint is the default audience", async () => {
    const meta = await hostMetadata();
    // The SDKs append the well-known path to oidc_endpoint to form their discovery URL.
    const res = await fetch(`${meta.oidc_endpoint.replace(/\/$/, "")}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    const server = (await res.json()) as { token_endpoint: string };
    expect(server.token_endpoint).toBe(meta.token_federation_default_oidc_audiences[0]);
  });
});

describe("the default federation audience the SDKs request", () => {
  it("is accepted by a service principal's federation policy (workload identity federation)", async () => {
    const [audience] = (await hostMetadata()).token_federation_default_oidc_audiences;
    const subject = await workspace.idp.mintToken({ sub: "idp-client-west-sales", aud: audience });
    const exchanged = await exchange(subject, WEST_SP);
    expect(exchanged.status).toBe(200);
    expect(exchanged.json.access_token).toEqual(expect.any(String));
  });

  it("is accepted by the account-wide policy, naming the user (account-wide token federation)", async () => {
    const [audience] = (await hostMetadata()).token_federation_default_oidc_audiences;
    const subject = await workspace.idp.mintToken({
      sub: "wendy.west",
      email: "wendy.west@example.com",
      aud: audience,
    });
    const exchanged = await exchange(subject);
    expect(exchanged.status).toBe(200);
    const me = await fetch(`${workspace.baseUrl}/api/2.0/preview/scim/v2/Me`, {
      headers: { authorization: `Bearer ${exchanged.json.access_token as string}` },
    });
    expect(((await me.json()) as { userName: string }).userName).toBe("wendy.west@example.com");
  });

  it("does not open the policies to other audiences: another workspace's token endpoint is still refused", async () => {
    const subject = await workspace.idp.mintToken({
      sub: "idp-client-west-sales",
      aud: "https://other-workspace.cloud.databricks.com/oidc/v1/token",
    });
    expect(await exchange(subject, WEST_SP)).toMatchObject({ status: 401, json: { error: "invalid_grant" } });
  });

  it("a policy that lists no audiences accepts the account id, as Databricks defaults it, and nothing it did not list", async () => {
    const seed = structuredClone(workspace.context.seed);
    const west = seed.servicePrincipals.find((sp) => sp.applicationId === WEST_SP)!;
    for (const policy of west.federationPolicies) delete policy.audiences;
    const ctx = { ...workspace.context, seed, directory: new Directory(seed) };
    const forAccount = await workspace.idp.mintToken({ sub: "idp-client-west-sales", aud: seed.workspace.accountId });
    await expect(matchFederation(forAccount, WEST_SP, ctx)).resolves.toMatchObject({ principal: WEST_SP });
    const forOldAudience = await workspace.idp.mintToken({ sub: "idp-client-west-sales" });
    await expect(matchFederation(forOldAudience, WEST_SP, ctx)).rejects.toBeInstanceOf(OAuthError);
  });
});
