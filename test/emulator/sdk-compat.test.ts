import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, WorkspaceClient } from "@databricks/sdk-experimental";
import * as oidc from "openid-client";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";

// The official Databricks JS SDK, unchanged, is the client of the local workspace over loopback HTTP.
// The SDK has no token-exchange or browser-login credential provider, so federation and PKCE are performed with
// openid-client / fetch against the workspace's /oidc endpoints, and the SDK then uses the resulting token.

const WEST_SP = "5e5e0001-0000-4000-8000-000000000001";
const EXEC_SP = "5e5e0004-0000-4000-8000-000000000004";
const SERVER_SP = "5e5e0000-0000-4000-8000-00000000a0d1";
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";

let workspace: LocalWorkspace;
let warehouseId: string;
let spaceId: string;
let indexName: string;
let endpointName: string;

function secretOf(applicationId: string): string {
  return workspace.context.seed.servicePrincipals.find((sp) => sp.applicationId === applicationId)!.secret;
}

/** The SDK as a service principal with OAuth client credentials: it discovers the token endpoint itself. */
function m2mClient(applicationId: string): WorkspaceClient {
  return new WorkspaceClient({
    host: workspace.baseUrl,
    authType: "oauth-m2m",
    clientId: applicationId,
    clientSecret: secretOf(applicationId),
  });
}

/** The SDK with a bearer token obtained elsewhere (federation exchange, PKCE login, a narrowly scoped token). */
function tokenClient(token: string): WorkspaceClient {
  return new WorkspaceClient({ host: workspace.baseUrl, authType: "pat", token });
}

async function workspaceToken(
  form: Record<string, string>,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${workspace.baseUrl}/oidc/v1/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Client credentials at the local IdP, as a partner's workload would obtain its own JWT. */
async function idpClientToken(role: string): Promise<string> {
  const client = workspace.context.seed.idpClients.find((c) => c.role === role)!;
  const res = await fetch(`${workspace.idp.issuer}/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString("base64")}`,
    },
    body: new URLSearchParams({ grant_type: "client_credentials" }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** The SDK's error for a failing call, so tests can assert its error_code and HTTP status. */
async function sdkError(call: Promise<unknown>): Promise<ApiError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

beforeAll(async () => {
  workspace = await startLocalWorkspace({ genieStepDelayMs: 5 });
  const seed = workspace.context.seed;
  warehouseId = seed.warehouses[0]!.id;
  spaceId = seed.genieSpaces[0]!.id;
  indexName = seed.vectorIndexes[0]!.name;
  endpointName = seed.servingEndpoints[0]!.name;
}, 60_000);

afterAll(async () => {
  await workspace?.close();
});

describe("credentials the official SDK obtains or carries", () => {
  it("oauth-m2m: the SDK discovers /oidc, gets a client-credentials token and SCIM Me names the service principal", async () => {
    const me = await m2mClient(WEST_SP).currentUser.me();
    expect(me.userName).toBe(WEST_SP);
    expect(me.groups?.map((g) => g.display)).toEqual(["west_sales"]);
    expect(workspace.counters.tokenRequests.get(`client_credentials|${WEST_SP}`)).toBeGreaterThanOrEqual(1);
  });

  it("oauth-m2m with a wrong secret fails at the token endpoint, never reaching the API as anyone", async () => {
    const client = new WorkspaceClient({
      host: workspace.baseUrl,
      authType: "oauth-m2m",
      clientId: WEST_SP,
      clientSecret: "not-the-secret-of-this-sp",
    });
    await expect(client.currentUser.me()).rejects.toThrow(/invalid_client/);
  });

  it("workload identity federation (client_id = service principal): an IdP JWT exchanged at /oidc/v1/token acts as that service principal", async () => {
    const exchanged = await workspaceToken({
      grant_type: TOKEN_EXCHANGE,
      subject_token: await idpClientToken("west_sales"),
      subject_token_type: JWT_TYPE,
      client_id: WEST_SP,
      scope: "all-apis",
    });
    expect(exchanged.status).toBe(200);
    expect(exchanged.json).toMatchObject({
      token_type: "Bearer",
      issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
    });
    const me = await tokenClient(exchanged.json.access_token as string).currentUser.me();
    expect(me.userName).toBe(WEST_SP);
  });

  it("account-wide federation (no client_id): a user's IdP JWT is exchanged for a token that acts as that user", async () => {
    const subjectToken = await workspace.idp.mintToken({
      sub: "wendy.west",
      email: "wendy.west@example.com",
      role: "west_sales",
    });
    const exchanged = await workspaceToken({
      grant_type: TOKEN_EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: JWT_TYPE,
      scope: "sql iam.current-user:read",
    });
    expect(exchanged.status).toBe(200);
    const me = await tokenClient(exchanged.json.access_token as string).currentUser.me();
    expect(me).toMatchObject({ userName: "wendy.west@example.com", displayName: "Wendy West" });
    expect(me.emails?.[0]?.value).toBe("wendy.west@example.com");
  });

  it("authorization code + PKCE (public client): openid-client drives /oidc/v1/authorize and /token, the SDK then acts as the user", async () => {
    const redirectUri = "http://127.0.0.1:53682/callback";
    const config = await oidc.discovery(
      new URL(`${workspace.baseUrl}/oidc`),
      "databricks-cli",
      undefined,
      oidc.None(),
      {
        execute: [oidc.allowInsecureRequests],
      },
    );
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorizeUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: "all-apis offline_access",
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
    });
    // The login page lists the demo users; following Erin's link is what a browser click does.
    const page = await (await fetch(authorizeUrl)).text();
    const link = /href="([^"]*erin\.exec[^"]*)"/.exec(page)?.[1]?.replace(/&#38;/g, "&");
    expect(link).toBeDefined();
    const approved = await fetch(new URL(link!, workspace.baseUrl), { redirect: "manual" });
    expect(approved.status).toBe(302);
    const callback = new URL(approved.headers.get("location")!);
    expect(callback.searchParams.get("state")).toBe(state);

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.refresh_token).toBeTruthy();
    const me = await tokenClient(tokens.access_token).currentUser.me();
    expect(me.userName).toBe("erin.exec@example.com");
  });

  it("authorization code with a wrong code_verifier is refused with invalid_grant (PKCE is enforced)", async () => {
    const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
    const authorize = new URL(`${workspace.baseUrl}/oidc/v1/authorize`);
    for (const [k, v] of Object.entries({
      client_id: "databricks-cli",
      redirect_uri: "http://127.0.0.1:53682/callback",
      response_type: "code",
      code_challenge: challenge,
      code_challenge_method: "S256",
      user: "erin.exec@example.com",
    }))
      authorize.searchParams.set(k, v);
    const approved = await fetch(authorize, { redirect: "manual" });
    const code = new URL(approved.headers.get("location")!).searchParams.get("code")!;
    const res = await workspaceToken({
      grant_type: "authorization_code",
      code,
      client_id: "databricks-cli",
      redirect_uri: "http://127.0.0.1:53682/callback",
      code_verifier: oidc.randomPKCECodeVerifier(),
    });
    expect(res).toMatchObject({ status: 400, json: { error: "invalid_grant" } });
  });
});

describe("SQL Statement Execution through the SDK", () => {
  it("a parameterized statement whose result spans several chunks is read whole with getStatementResultChunkN", async () => {
    const client = m2mClient(EXEC_SP);
    const response = await client.statementExecution.executeStatement({
      warehouse_id: warehouseId,
      statement:
        "SELECT d.deal_id, n FROM main.sales.deals d CROSS JOIN generate_series(1, :copies) AS n WHERE d.quarter <> :skip",
      parameters: [
        { name: "copies", value: "4", type: "INT" },
        { name: "skip", value: "1999-Q1" },
      ],
      wait_timeout: "30s",
    });
    expect(response.status?.state).toBe("SUCCEEDED");
    const manifest = response.manifest!;
    expect(manifest).toMatchObject({ format: "JSON_ARRAY", total_row_count: 12_000, truncated: false });
    expect(manifest.total_chunk_count).toBeGreaterThan(1);
    expect(manifest.chunks).toHaveLength(manifest.total_chunk_count!);
    expect(manifest.schema?.columns?.map((c) => [c.name, c.type_name])).toEqual([
      ["deal_id", "STRING"],
      ["n", "INT"],
    ]);
    // INLINE results carry data_array and never external_links.
    expect(response.result).not.toHaveProperty("external_links");

    const rows = [...response.result!.data_array!];
    let next = response.result!.next_chunk_index;
    let chunks = 1;
    while (next !== undefined) {
      const chunk = await client.statementExecution.getStatementResultChunkN({
        statement_id: response.statement_id!,
        chunk_index: next,
      });
      expect(chunk.chunk_index).toBe(next);
      expect(chunk.row_offset).toBe(rows.length);
      rows.push(...chunk.data_array!);
      next = chunk.next_chunk_index;
      chunks += 1;
    }
    expect(chunks).toBe(manifest.total_chunk_count);
    expect(rows).toHaveLength(12_000);
    expect(new Set(rows.map((r) => r[0])).size).toBe(3000);
  });

  it("row_limit truncates the result and sets manifest.truncated", async () => {
    const response = await m2mClient(EXEC_SP).statementExecution.executeStatement({
      warehouse_id: warehouseId,
      statement: "SELECT deal_id FROM main.sales.deals ORDER BY deal_id",
      row_limit: 7,
      wait_timeout: "30s",
    });
    expect(response.manifest).toMatchObject({ truncated: true, total_row_count: 7 });
    expect(response.result?.data_array).toHaveLength(7);
  });

  it("byte_limit truncates the result and sets manifest.truncated", async () => {
    const response = await m2mClient(EXEC_SP).statementExecution.executeStatement({
      warehouse_id: warehouseId,
      statement: "SELECT deal_id, account FROM main.sales.deals ORDER BY deal_id",
      byte_limit: 500,
      wait_timeout: "30s",
    });
    expect(response.manifest?.truncated).toBe(true);
    const rows = response.result!.data_array!;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(3000);
    expect(JSON.stringify(rows).length).toBeLessThanOrEqual(500 + rows.length * 2);
  });

  it("a statement the caller may not run FAILS with a ServiceErrorCode, the error class in the message and sql_state", async () => {
    const response = await m2mClient(WEST_SP).statementExecution.executeStatement({
      warehouse_id: warehouseId,
      statement: "SELECT * FROM main.governance.mcp_audit",
      wait_timeout: "30s",
    });
    expect(response.status).toMatchObject({
      state: "FAILED",
      error: { error_code: "BAD_REQUEST", message: expect.stringMatching(/^\[INSUFFICIENT_PERMISSIONS\]/) },
      sql_state: "42501",
    });
    expect(response).not.toHaveProperty("manifest");
    expect(response).not.toHaveProperty("result");
  });

  it("cancelExecution is best effort: accepted for the caller's statement, a finished one keeps its result", async () => {
    const client = m2mClient(EXEC_SP);
    const done = await client.statementExecution.executeStatement({
      warehouse_id: warehouseId,
      statement: "SELECT count(*) FROM main.sales.deals",
      wait_timeout: "30s",
    });
    expect(done.status?.state).toBe("SUCCEEDED");
    await client.statementExecution.cancelExecution({ statement_id: done.statement_id! });
    const after = await client.statementExecution.getStatement({ statement_id: done.statement_id! });
    expect(after.status?.state).toBe("SUCCEEDED");
    expect(after.result?.data_array).toEqual([["3000"]]);
    expect(
      await sdkError(m2mClient(WEST_SP).statementExecution.cancelExecution({ statement_id: done.statement_id! })),
    ).toMatchObject({ errorCode: "NOT_FOUND", statusCode: 404 });
  });

  it("getStatement polls a statement submitted with wait_timeout 0s until SUCCEEDED", async () => {
    const client = m2mClient(WEST_SP);
    const submitted = await client.statementExecution.executeStatement({
      warehouse_id: warehouseId,
      statement: "SELECT count(*) AS n FROM main.sales.deals",
      wait_timeout: "0s",
    });
    expect(["PENDING", "RUNNING", "SUCCEEDED"]).toContain(submitted.status?.state);
    let polled = submitted;
    // Bounded generously: the statement runs on the real engine, however loaded the machine is.
    for (const end = Date.now() + 30_000; polled.status?.state !== "SUCCEEDED" && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 20));
      polled = await client.statementExecution.getStatement({ statement_id: submitted.statement_id! });
    }
    expect(polled.status?.state).toBe("SUCCEEDED");
    expect(polled.result?.data_array?.[0]?.[0]).toBe(String(1022));
  });
});

describe("Genie, Vector Search and Model Serving through the SDK", () => {
  it("genie.startConversation(...).wait() reaches COMPLETED and the attachment's query result has the caller's rows", async () => {
    const client = m2mClient(WEST_SP);
    const waiter = await client.genie.startConversation({ space_id: spaceId, content: "total amount by region" });
    const message = await waiter.wait({ timeout: undefined });
    expect(message.status).toBe("COMPLETED");
    const attachment = message.attachments!.find((a) => a.query)!;
    expect(attachment.query?.query_result_metadata?.row_count).toBe(1);
    expect(
      message.attachments!.some((a) => (a.text?.purpose as string | undefined) === "TEXT_ATTACHMENT_PURPOSE_ANSWER"),
    ).toBe(true);
    const result = await client.genie.getMessageAttachmentQueryResult({
      space_id: spaceId,
      conversation_id: message.conversation_id,
      message_id: message.message_id,
      attachment_id: attachment.attachment_id!,
    });
    expect(result.statement_response?.status?.state).toBe("SUCCEEDED");
    expect(result.statement_response?.result?.data_array?.map((r) => r[0])).toEqual(["WEST"]);
  });

  it("a conversation continues through the SDK: follow-up, listing, re-run as the caller, space, deletion", async () => {
    const client = m2mClient(EXEC_SP);
    const first = await (
      await client.genie.startConversation({ space_id: spaceId, content: "top 5 deals" })
    ).wait({
      timeout: undefined,
    });
    const ids = { space_id: spaceId, conversation_id: first.conversation_id };
    const followUp = await (
      await client.genie.createMessage({ ...ids, content: "only EAST" })
    ).wait({
      timeout: undefined,
    });
    expect(followUp.status).toBe("COMPLETED");
    const query = followUp.attachments!.find((a) => a.query)!;
    expect(query.query?.parameters).toContainEqual({ keyword: "region", sql_type: "STRING", value: "EAST" });

    const listed = await client.genie.listConversationMessages(ids);
    expect(listed.messages?.map((m) => m.content)).toEqual(["top 5 deals", "only EAST"]);
    const rerun = await client.genie.executeMessageAttachmentQuery({
      ...ids,
      message_id: followUp.message_id,
      attachment_id: query.attachment_id!,
    });
    const rows = rerun.statement_response?.result?.data_array ?? [];
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => r[2] === "EAST")).toBe(true);

    expect(await client.genie.getSpace({ space_id: spaceId })).toMatchObject({
      space_id: spaceId,
      warehouse_id: warehouseId,
    });
    const conversations = await client.genie.listConversations({ space_id: spaceId });
    expect(conversations.conversations?.map((c) => c.conversation_id)).toContain(first.conversation_id);
    await client.genie.deleteConversation(ids);
    expect(await sdkError(client.genie.listConversationMessages(ids))).toMatchObject({
      errorCode: "RESOURCE_DOES_NOT_EXIST",
      statusCode: 404,
    });
  });

  it("vectorSearchIndexes.queryIndex returns manifest columns (with score) and result rows", async () => {
    const response = await m2mClient(WEST_SP).vectorSearchIndexes.queryIndex({
      index_name: indexName,
      query_text: "who approves large discounts",
      columns: ["doc_id", "title"],
      num_results: 3,
      query_type: "HYBRID",
    });
    expect(response.manifest?.columns?.map((c) => c.name)).toEqual(["doc_id", "title", "score"]);
    expect(response.manifest?.column_count).toBe(3);
    expect(response.result?.row_count).toBe(3);
    expect(response.result?.data_array?.[0]?.[0]).toBe("kb-001");
  });

  it("servingEndpoints.query with Responses `input` answers in the Responses shape", async () => {
    const response = (await m2mClient(EXEC_SP).servingEndpoints.query({
      name: endpointName,
      input: [{ role: "user", content: "How many deals in EAST?" }],
    })) as Record<string, unknown> & { output?: { content?: { text?: string }[] }[] };
    expect(response.object).toBe("response");
    expect(response["served-model-name"]).toBe(endpointName);
    expect(response.output?.[0]?.content?.[0]?.text).toMatch(/Number of deals/);
  });

  it("servingEndpoints.query accepts Responses content parts; a body with no user text is 400 BAD_REQUEST", async () => {
    const client = m2mClient(EXEC_SP);
    const response = (await client.servingEndpoints.query({
      name: endpointName,
      input: [{ role: "user", content: [{ type: "input_text", text: "What is the discount approval policy?" }] }],
    })) as Record<string, unknown> & { output?: { content?: { text?: string }[] }[] };
    expect(response.output?.[0]?.content?.[0]?.text).toMatch(/Discounts above 15 percent/);
    expect(
      await sdkError(
        client.servingEndpoints.query({ name: endpointName, input: [{ role: "assistant", content: "hi" }] }),
      ),
    ).toMatchObject({ errorCode: "BAD_REQUEST", statusCode: 400 });
  });

  it("servingEndpoints.query with chat `messages` answers as a chat completion", async () => {
    const response = await m2mClient(EXEC_SP).servingEndpoints.query({
      name: endpointName,
      messages: [{ role: "user", content: "What is the discount approval policy?" }],
    });
    expect(response.object).toBe("chat.completion");
    expect(response.choices?.[0]?.message?.content).toMatch(/Discounts above 15 percent/);
  });
});

describe("errors the SDK raises", () => {
  it("a token without the dashboards.genie scope: the SDK raises PERMISSION_DENIED with status 403", async () => {
    const issued = await workspaceToken({
      grant_type: "client_credentials",
      client_id: EXEC_SP,
      client_secret: secretOf(EXEC_SP),
      scope: "sql",
    });
    const client = tokenClient(issued.json.access_token as string);
    const err = await sdkError(client.genie.startConversation({ space_id: spaceId, content: "how many deals" }));
    expect(err).toMatchObject({ errorCode: "PERMISSION_DENIED", statusCode: 403 });
    expect(err.message).toMatch(/dashboards\.genie/);
    // The same token still does what its scope allows.
    expect((await client.currentUser.me()).userName).toBe(EXEC_SP);
  });

  it("a principal without permission on the resource: PERMISSION_DENIED with status 403", async () => {
    const genie = await sdkError(
      m2mClient(SERVER_SP).genie.startConversation({ space_id: spaceId, content: "how many deals" }),
    );
    expect(genie).toMatchObject({ errorCode: "PERMISSION_DENIED", statusCode: 403 });
    const serving = await sdkError(
      m2mClient(WEST_SP).servingEndpoints.query({ name: endpointName, input: [{ role: "user", content: "hi" }] }),
    );
    expect(serving).toMatchObject({ errorCode: "PERMISSION_DENIED", statusCode: 403 });
  });

  it("unknown resources: 404 with RESOURCE_DOES_NOT_EXIST / NOT_FOUND", async () => {
    const client = m2mClient(EXEC_SP);
    expect(
      await sdkError(client.genie.startConversation({ space_id: "0".repeat(32), content: "how many deals" })),
    ).toMatchObject({ errorCode: "RESOURCE_DOES_NOT_EXIST", statusCode: 404 });
    expect(
      await sdkError(
        client.vectorSearchIndexes.queryIndex({
          index_name: "main.knowledge.missing",
          query_text: "x",
          columns: ["doc_id"],
        }),
      ),
    ).toMatchObject({ errorCode: "RESOURCE_DOES_NOT_EXIST", statusCode: 404 });
    expect(
      await sdkError(
        client.servingEndpoints.query({ name: "no-such-endpoint", input: [{ role: "user", content: "hi" }] }),
      ),
    ).toMatchObject({ errorCode: "RESOURCE_DOES_NOT_EXIST", statusCode: 404 });
    expect(
      await sdkError(client.statementExecution.getStatement({ statement_id: "01f0aaaa-0000-0000-0000-000000000000" })),
    ).toMatchObject({ errorCode: "NOT_FOUND", statusCode: 404 });
  });

  it("no credential at all: the SDK gets 401 UNAUTHENTICATED", async () => {
    const client = tokenClient("not-a-workspace-token");
    expect(await sdkError(client.currentUser.me())).toMatchObject({ errorCode: "UNAUTHENTICATED", statusCode: 401 });
  });
});
