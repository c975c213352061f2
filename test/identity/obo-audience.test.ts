import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localResolver } from "../support/local-config.js";
import { freshLoopbackSource } from "../support/json-rpc.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { expectRefusalRows, rpc, toolAnswer, toolCall } from "../security/support.js";

/** The OAuth client MCP clients of this deployment sign in with (a public client of the local workspace). */
const SERVER_CLIENT = "databricks-governed-mcp";
const USER = "olivia.obo@example.com";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({
    overrides: { identity: { obo: { audience: SERVER_CLIENT, trustProxyHeader: true } } },
  });
});
afterAll(async () => {
  await stack?.stop();
});

/** A workspace token of the user, issued to the OAuth client `clientId` (its `client_id` claim). */
async function workspaceToken(clientId: string): Promise<string> {
  return (await stack.workspace.tokens.issue(USER, ["all-apis"], 3600, clientId)).access_token;
}

describe("an OBO token must be issued to the configured audience when one is set", () => {
  it("accepts a workspace token issued to the configured client", async () => {
    const answer = toolAnswer(
      await rpc(stack.mcpUrl, toolCall("check_identity", {}), {
        authorization: `Bearer ${await workspaceToken(SERVER_CLIENT)}`,
      }),
    );
    expect(answer.isError, answer.text).toBe(false);
    expect(answer.structured).toMatchObject({ mode: "obo", human: USER });
  });

  it.each([
    ["as a bearer", (token: string) => ({ authorization: `Bearer ${token}` })],
    ["in the proxy header", (token: string) => ({ "x-forwarded-access-token": token })],
  ])("refuses a workspace token issued to another client %s: 401 TOKEN_INVALID, audited once", async (_how, send) => {
    const token = await workspaceToken("databricks-cli");
    const since = Date.now();
    // From its own source address: refusals of one source, code and minute share an audit record.
    const answer = await rpc(
      stack.mcpUrl,
      toolCall("check_identity", {}),
      send(token),
      undefined,
      freshLoopbackSource(),
    );
    expect(answer.status).toBe(401);
    expect(toolAnswer(answer)).toMatchObject({ code: "TOKEN_INVALID", text: expect.stringContaining("OAuth client") });
    expect(answer.text).not.toContain(token);
    expect(await expectRefusalRows(stack.workspace, "TOKEN_INVALID", 1, since)).toBe(1);
  });
});

describe("the OBO audience setting", () => {
  const resolverWith = (obo: Record<string, unknown>) => localResolver(stack.workspace, { identity: { obo } });
  const bearer = (token: string) => ({ transport: "http" as const, headers: { authorization: `Bearer ${token}` } });

  it("unset, accepts a workspace token issued to any client", async () => {
    const caller = await resolverWith({}).resolve(bearer(await workspaceToken("databricks-cli")));
    expect(caller.identity).toMatchObject({ mode: "obo", human: USER });
  });

  it("also matches the token's aud", async () => {
    const resolver = resolverWith({ audience: stack.workspace.baseUrl });
    const caller = await resolver.resolve(bearer(await workspaceToken("databricks-cli")));
    expect(caller.identity.human).toBe(USER);
  });
});
