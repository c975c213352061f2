import { startLocalWorkspace, type LocalWorkspace } from "../../emulator/workspace.js";
import { systemClock } from "../../src/clock.js";
import { WorkspaceHttpClient } from "../../src/databricks/http-client.js";
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

/** A local workspace and a client of it: what a kind's tests run real calls against. */
export async function startKindWorkspace(): Promise<{ workspace: LocalWorkspace; http: WorkspaceHttpClient }> {
  const workspace = await startLocalWorkspace({ genieStepDelayMs: 5 });
  return { workspace, http: new WorkspaceHttpClient(workspace.baseUrl) };
}

/** Closes what `startKindWorkspace` opened (either may be unset when the start failed). */
export async function closeKindWorkspace(opened: { workspace?: LocalWorkspace; http?: WorkspaceHttpClient }) {
  await opened.http?.close();
  await opened.workspace?.close();
}
