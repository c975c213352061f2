import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localResolver } from "../support/local-config.js";
import { federationBearer } from "../support/mcp-clients.js";
import { startTestStack, type TestStack } from "../support/server.js";
import { rpc, toolAnswer, toolCall } from "../security/support.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const SERVING = "serving.serving-endpoints";

const resolverWith = (overrides: Record<string, unknown> = {}) => localResolver(stack.workspace, overrides);

/** The scopes the workspace put in a token it issued (its `scope` claim). */
const grantedScopes = (accessToken: string) => String(decodeJwt(accessToken).scope).split(" ").sort();

describe("exchanged tokens carry only the scopes of the tools the role may call", () => {
  it("gives west_sales sql, Genie and Vector Search but not serving; executive gets serving too (check_identity)", async () => {
    const west = toolAnswer(
      await rpc(stack.mcpUrl, toolCall("check_identity", {}), await federationBearer(stack.workspace, "west_sales")),
    );
    expect(west.isError, west.text).toBe(false);
    expect([...(west.structured!.scopes as string[])].sort()).toEqual([
      "dashboards.genie",
      "sql",
      "vectorsearch.vector-search-indexes",
    ]);
    const executive = toolAnswer(
      await rpc(stack.mcpUrl, toolCall("check_identity", {}), await federationBearer(stack.workspace, "executive")),
    );
    expect(executive.isError, executive.text).toBe(false);
    expect(executive.structured!.scopes).toContain(SERVING);
  });

  it("asks the workspace for the role's scopes: the exchanged token's scope claim lacks what the role cannot use", async () => {
    const resolver = resolverWith();
    const west = await resolver.resolve({
      transport: "http",
      headers: await federationBearer(stack.workspace, "west_sales"),
    });
    expect(west.identity.scopes).not.toContain(SERVING);
    expect(grantedScopes((await west.credential.token()).accessToken)).toEqual([
      "dashboards.genie",
      "sql",
      "vectorsearch.vector-search-indexes",
    ]);
    const finance = await resolver.resolve({
      transport: "http",
      headers: await federationBearer(stack.workspace, "finance"),
    });
    expect(grantedScopes((await finance.credential.token()).accessToken)).not.toContain(SERVING);
  });

  it("gives the server's M2M identity only the scopes of its configured tools", async () => {
    const resolver = resolverWith({
      identity: { m2m: { allowHttpCallers: true, tools: ["check_identity", "genie_query"] } },
    });
    const caller = await resolver.resolve({ transport: "http", headers: {} });
    expect(caller.identity.scopes).toEqual(["dashboards.genie", "sql"]);
    expect(grantedScopes((await caller.credential.token()).accessToken)).toEqual(["dashboards.genie", "sql"]);
  });

  it("requests no token at all for a role that may call no tool (an empty scope is never sent)", async () => {
    const resolver = resolverWith({ policy: { rbac: { west_sales: [] } } });
    const before = stack.workspace.context.counters.tokenRequestTotal("token_exchange");
    const caller = await resolver.resolve({
      transport: "http",
      headers: await federationBearer(stack.workspace, "west_sales"),
    });
    await expect(caller.credential.token()).rejects.toMatchObject({ code: "TOOL_NOT_ALLOWED" });
    expect(stack.workspace.context.counters.tokenRequestTotal("token_exchange")).toBe(before);
  });
});
