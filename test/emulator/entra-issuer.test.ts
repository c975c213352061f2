import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AZURE_DATABRICKS_RESOURCE_ID,
  startEntraLikeIssuer,
  type EntraLikeIssuer,
} from "../../emulator/entra/issuer.js";
import { trustEntraIssuer } from "../../emulator/entra/workspace-trust.js";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";

const APP = { clientId: "0a0b0c0d-1111-4222-8333-444455556666", clientSecret: "entra-app-secret-value" };
const WENDY = "wendy.west@example.com";
let entra: EntraLikeIssuer;
let workspace: LocalWorkspace;

beforeAll(async () => {
  entra = await startEntraLikeIssuer({ host: "127.0.0.1", port: 0, clients: [APP] });
  workspace = await startLocalWorkspace({ genieStepDelayMs: 20 });
  trustEntraIssuer(workspace.context, entra);
});
afterAll(async () => {
  await workspace?.close();
  await entra?.close();
});

async function obo(fields: Record<string, string>) {
  const res = await fetch(entra.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      client_id: APP.clientId,
      client_secret: APP.clientSecret,
      scope: `${AZURE_DATABRICKS_RESOURCE_ID}/.default`,
      requested_token_use: "on_behalf_of",
      ...fields,
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const me = async (token: string) =>
  fetch(`${workspace.baseUrl}/api/2.0/preview/scim/v2/Me`, { headers: { authorization: `Bearer ${token}` } });

describe("the Entra-like issuer's on-behalf-of grant", () => {
  it("publishes its discovery document at {tenant}/v2.0 with the v2.0 token endpoint and keys", async () => {
    const doc = (await (await fetch(`${entra.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(doc).toMatchObject({ issuer: entra.issuer, token_endpoint: entra.tokenEndpoint, jwks_uri: entra.jwksUri });
  });

  it("answers a user's token issued to the app with a v1.0 Azure Databricks token of the same user", async () => {
    const { status, body } = await obo({ assertion: await entra.userToken({ user: WENDY, audience: APP.clientId }) });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      token_type: "Bearer",
      scope: `${AZURE_DATABRICKS_RESOURCE_ID}/user_impersonation`,
      expires_in: 3600,
      ext_expires_in: 3600,
    });
    expect(decodeJwt(String(body.access_token))).toMatchObject({
      aud: AZURE_DATABRICKS_RESOURCE_ID,
      iss: entra.resourceIssuer,
      upn: WENDY,
      appid: APP.clientId,
      ver: "1.0",
    });
  });

  it.each([
    ["an assertion issued to another app", { audience: "another-app" }, 400, "invalid_grant", 500131],
    ["an expired assertion", { ttlSeconds: -120 }, 400, "invalid_grant", 500133],
  ])("refuses %s with its AADSTS code", async (_name, claims, status, error, code) => {
    const assertion = await entra.userToken({ user: WENDY, audience: APP.clientId, ...claims });
    const answer = await obo({ assertion });
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ error, error_codes: [code] });
    expect(String(answer.body.error_description)).toMatch(
      new RegExp(`^AADSTS${code}: .* Trace ID: .* Correlation ID: `),
    );
  });

  it("refuses a wrong client secret with invalid_client (AADSTS7000215) and a missing requested_token_use", async () => {
    const assertion = await entra.userToken({ user: WENDY, audience: APP.clientId });
    expect(await obo({ assertion, client_secret: "nope" })).toMatchObject({
      status: 401,
      body: { error: "invalid_client", error_codes: [7000215] },
    });
    expect(await obo({ assertion, requested_token_use: "" })).toMatchObject({
      status: 400,
      body: { error: "invalid_request", error_codes: [900144] },
    });
  });
});

describe("the local workspace trusting the Entra-like tenant, as Azure Databricks does", () => {
  it("maps an Azure Databricks-audience token to the workspace user it names", async () => {
    const { body } = await obo({ assertion: await entra.userToken({ user: WENDY, audience: APP.clientId }) });
    const res = await me(String(body.access_token));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ userName: WENDY });
  });

  it("refuses the user's own token (audience: the app, not Azure Databricks)", async () => {
    expect((await me(await entra.userToken({ user: WENDY, audience: APP.clientId }))).status).toBe(401);
  });

  it("refuses a token naming a user the workspace does not have", async () => {
    const { body } = await obo({
      assertion: await entra.userToken({ user: "nobody@example.com", audience: APP.clientId }),
    });
    expect((await me(String(body.access_token))).status).toBe(401);
  });
});
