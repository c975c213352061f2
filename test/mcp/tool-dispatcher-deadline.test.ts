import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import type { Clock } from "../../src/clock.js";
import { loadConfig } from "../../src/config/load.js";
import { WorkspaceHttpClient } from "../../src/databricks/http-client.js";
import { createWorkspaceApi } from "../../src/databricks/workspace-api.js";
import type { ResolvedCaller } from "../../src/identity/types.js";
import { WorkspaceViewCache } from "../../src/identity/workspace-view-cache.js";
import { buildToolCatalog } from "../../src/mcp/tool-catalog.js";
import { dispatchToolCall, type AuditEntry, type DispatcherDeps } from "../../src/mcp/tool-dispatcher.js";
import { ConversationHandles } from "../../src/policy/conversation-handle.js";
import { loadToolCatalog } from "../../tools/catalog/load.js";
import { ToolPolicy } from "../../src/policy/tool-policy.js";
import type { ToolContext, ToolDefinition } from "../../tools/types.js";
import { FakeClock } from "../support/fake-clock.js";
import { operatorEnvironment } from "../support/workspace-env.js";

const USER = "wendy.west@example.com";
const TIMEOUT_MS = 10_000;
const QUESTION = { question: "how many deals" };

let workspace: LocalWorkspace;
let caller: ResolvedCaller;
beforeAll(async () => {
  // Genie stays on its first step for an hour of wall time: a call ends only by its deadline or its caller.
  workspace = await startLocalWorkspace({ genieStepDelayMs: 3_600_000 });
  const { access_token: accessToken } = await workspace.tokens.issue(USER, ["all-apis"], 3600);
  caller = {
    identity: { mode: "obo", source: "bearer", human: USER, expectedPrincipal: USER, scopes: ["all-apis"] },
    credential: { token: async () => ({ accessToken, expiresAt: Date.now() / 1000 + 3600, scopes: ["all-apis"] }) },
  };
});
afterAll(async () => {
  await workspace?.close();
});

/** A dispatcher serving genie_query with the given clock (none: the default), keeping each context it hands out. */
function dispatcherOn(clock: Clock | undefined) {
  const contexts: ToolContext[] = [];
  const audited: AuditEntry[] = [];
  const http = new WorkspaceHttpClient(workspace.baseUrl, { clock });
  const config = loadConfig(operatorEnvironment(workspace), { timeouts: { genie_query: TIMEOUT_MS } });
  const genieQueryTool = loadToolCatalog(config).tools.find((t) => t.name === "genie_query")!;
  const genie: ToolDefinition = {
    ...genieQueryTool,
    handler: (args, ctx) => {
      contexts.push(ctx);
      return genieQueryTool.handler(args, ctx);
    },
  };
  const deps: DispatcherDeps = {
    config,
    policy: new ToolPolicy(buildToolCatalog([genie]), config),
    audit: { record: async (entry) => void audited.push(entry) },
    logger: pino({ level: "silent" }),
    workspaceFor: (who, _tool, requestId, recordStatement) =>
      createWorkspaceApi(http, who.credential, { requestId, queryTags: {}, onStatement: recordStatement }),
    workspaceViews: new WorkspaceViewCache(1, 0),
    conversationHandles: ConversationHandles.ephemeral(),
    clock,
  };
  const call = (signal = new AbortController().signal) =>
    dispatchToolCall(deps, caller, "genie_query", QUESTION, { signal, sendNotification: async () => undefined });
  return { call, contexts, audited, close: () => http.close() };
}

describe("a tool call's deadline", () => {
  it("is read on the dispatcher's clock, whose passing the deadline (not before) aborts the call as TIMEOUT", async () => {
    const clock = new FakeClock();
    const started = clock.now();
    const dispatcher = dispatcherOn(clock);
    try {
      let settled = false;
      const call = dispatcher.call().finally(() => (settled = true));
      const ctx = dispatcher.contexts[0]!;
      expect(ctx.deadline).toBe(started + TIMEOUT_MS);
      expect(ctx.clock).toBe(clock);
      await clock.advance(TIMEOUT_MS - 1);
      expect([settled, ctx.signal.aborted]).toEqual([false, false]);
      await clock.advance(1);
      expect(ctx.signal.aborted).toBe(true);
      const result = await call;
      expect(result._meta?.error_code).toBe("TIMEOUT");
      expect(dispatcher.audited).toMatchObject([{ tool: "genie_query", outcome: "failed", errorCode: "TIMEOUT" }]);
    } finally {
      await dispatcher.close();
    }
  });

  it("is on the system clock when the dispatcher is given none", async () => {
    const dispatcher = dispatcherOn(undefined);
    try {
      const stop = new AbortController();
      const before = Date.now();
      const call = dispatcher.call(stop.signal);
      const after = Date.now();
      const { deadline } = dispatcher.contexts[0]!;
      expect(deadline).toBeGreaterThanOrEqual(before + TIMEOUT_MS);
      expect(deadline).toBeLessThanOrEqual(after + TIMEOUT_MS);
      stop.abort();
      expect((await call)._meta?.error_code).toBe("CANCELLED");
    } finally {
      await dispatcher.close();
    }
  });
});
