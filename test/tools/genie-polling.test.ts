import type { IncomingMessage, ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { WorkspaceHttpClient } from "../../src/databricks/http-client.js";
import { createWorkspaceApi } from "../../src/databricks/workspace-api.js";
import { WorkspaceViewCache } from "../../src/identity/workspace-view-cache.js";
import { ConversationHandles } from "../../src/policy/conversation-handle.js";
import { loadConfig } from "../../src/config/load.js";
import { operatorEnvironment } from "../support/workspace-env.js";
import { FakeClock } from "../support/fake-clock.js";
import { loadToolCatalog } from "../../tools/catalog/load.js";
import type { ToolContext } from "../../tools/types.js";

const USER = "wendy.west@example.com";
const MESSAGE = /^\/api\/2\.0\/genie\/spaces\/[^/]+\/conversations\/[^/]+\/messages\/[^/]+$/;

let workspace: LocalWorkspace;
let http: WorkspaceHttpClient;
let polls = 0;
beforeAll(async () => {
  // Genie stays on its first step for an hour of wall time: only the tool's own waits decide when it polls.
  workspace = await startLocalWorkspace({ genieStepDelayMs: 3_600_000 });
  const apply = workspace.faults.apply.bind(workspace.faults);
  workspace.faults.apply = (req: IncomingMessage, res: ServerResponse, pathname: string) => {
    if (req.method === "GET" && MESSAGE.test(pathname)) polls += 1;
    return apply(req, res, pathname);
  };
  http = new WorkspaceHttpClient(workspace.baseUrl);
});
afterAll(async () => {
  await http?.close();
  await workspace?.close();
});

/** genie_query as the server builds it for the local workspace's configuration. */
function genieQueryTool() {
  return loadToolCatalog(loadConfig(operatorEnvironment(workspace))).tools.find((t) => t.name === "genie_query")!;
}

/** A genie_query context for a workspace user, its waits on `clock`. */
async function contextFor(clock: FakeClock, signal: AbortSignal, progress: string[]): Promise<ToolContext> {
  const { access_token: accessToken } = await workspace.tokens.issue(USER, ["all-apis"], 3600);
  const credential = {
    token: async () => ({ accessToken, expiresAt: Date.now() / 1000 + 3600, scopes: ["all-apis"] }),
  };
  return {
    caller: {
      identity: { mode: "obo", source: "bearer", human: USER, expectedPrincipal: USER, scopes: ["all-apis"] },
      credential,
    },
    allowedTools: ["genie_query"],
    workspace: createWorkspaceApi(http, credential, { requestId: "polling", queryTags: {} }),
    requestId: "polling",
    workspaceViews: new WorkspaceViewCache(1, 0),
    signal,
    deadline: Date.now() + 60_000,
    clock,
    conversationHandles: ConversationHandles.ephemeral(),
    reportProgress: async (_, message) => void progress.push(message),
    recordStatement: () => undefined,
  };
}

describe("genie_query polling", () => {
  it("waits on the context's clock, backing off 75, 113, 170 ms while Genie stays on one step, and stops when cancelled", async () => {
    const clock = new FakeClock();
    const stop = new AbortController();
    const progress: string[] = [];
    const ctx = await contextFor(clock, stop.signal, progress);
    const call = genieQueryTool().handler({ question: "What is the total amount by region?" }, ctx);
    const outcome = call.then(
      () => "answered",
      (err: { code?: string }) => err.code,
    );
    const waitsAfterPoll = (n: number) =>
      vi.waitFor(() => expect([polls, clock.waiting]).toEqual([n, 1]), { timeout: 10_000, interval: 5 });

    await waitsAfterPoll(1);
    expect(progress).toEqual(["Genie: SUBMITTED"]);
    for (const [n, backoff] of [
      [2, 75],
      [3, 113],
      [4, 170],
    ] as const) {
      // Just short of the wait, nothing is sent; at the wait, one more poll.
      await clock.advance(backoff - 1);
      expect(polls).toBe(n - 1);
      await clock.advance(1);
      await waitsAfterPoll(n);
    }
    expect(progress).toEqual(["Genie: SUBMITTED"]);

    stop.abort();
    expect(await outcome).toBe("CANCELLED");
    expect(polls).toBe(4);
  });
});
