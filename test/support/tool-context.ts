import type { LocalWorkspace } from "../../emulator/workspace.js";
import { systemClock } from "../../src/clock.js";
import type { WorkspaceHttpClient } from "../../src/databricks/http-client.js";
import { createWorkspaceApi } from "../../src/databricks/workspace-api.js";
import type { CallerIdentity } from "../../src/identity/types.js";
import { WorkspaceViewCache } from "../../src/identity/workspace-view-cache.js";
import { ConversationHandles } from "../../src/policy/conversation-handle.js";
import type { ToolContext } from "../../tools/types.js";

/** A tool's per-call context for a local workspace user (OBO), or a given identity, with a workspace token of theirs. */
export async function userToolContext(
  workspace: LocalWorkspace,
  http: WorkspaceHttpClient,
  userName: string,
  identity: Partial<CallerIdentity> = {},
): Promise<ToolContext & { statements: string[] }> {
  const { access_token: accessToken } = await workspace.tokens.issue(userName, ["all-apis"], 3600);
  const credential = {
    token: async () => ({ accessToken, expiresAt: Date.now() / 1000 + 3600, scopes: ["all-apis"] }),
  };
  const statements: string[] = [];
  return {
    statements,
    caller: {
      identity: {
        mode: "obo",
        source: "bearer",
        human: userName,
        expectedPrincipal: userName,
        scopes: ["all-apis"],
        ...identity,
      },
      credential,
    },
    allowedTools: [],
    workspace: createWorkspaceApi(http, credential, { requestId: "kind-test", queryTags: {} }),
    requestId: "kind-test",
    workspaceViews: new WorkspaceViewCache(1, 0),
    signal: new AbortController().signal,
    deadline: systemClock.now() + 60_000,
    clock: systemClock,
    conversationHandles: ConversationHandles.ephemeral(),
    reportProgress: async () => undefined,
    recordStatement: (id) => void statements.push(id),
  };
}
