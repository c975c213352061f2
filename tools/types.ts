import type { z } from "zod";
import type { ToolAnnotations } from "@modelcontextprotocol/server";
import type { ResolvedCaller } from "../src/identity/types.js";
import type { WorkspaceApi } from "../src/databricks/workspace-api.js";
import type { WorkspaceViewCache } from "../src/identity/workspace-view-cache.js";
import type { Clock } from "../src/clock.js";
import type { AbortSource } from "../src/linked-abort.js";
import type { ConversationHandles } from "../src/policy/conversation-handle.js";

/**
 * What a tool handler gets for one call: the caller's own client and the call's limits, never the configuration.
 * A tool's resource (warehouse, table, space, index, endpoint, function, connection) is bound when it is built.
 */
export interface ToolContext {
  caller: ResolvedCaller;
  /** Tools this caller may use (for check_identity). */
  allowedTools: readonly string[];
  /** Databricks APIs, authenticated as this caller. */
  workspace: WorkspaceApi;
  requestId: string;
  /** What the workspace said about each token lately (check_identity). */
  workspaceViews: WorkspaceViewCache;
  /**
   * Aborted on cancellation or when the tool's deadline passes: the call's limit, which workspace calls follow as it
   * is; `signalOf` gives it as an AbortSignal where nothing else is taken.
   */
  signal: AbortSource;
  /** Milliseconds on `clock` by which the call must end. */
  deadline: number;
  /** Time the deadline is read on and waits between polls run on (tests move a fake one). */
  clock: Clock;
  /** Signs and opens the Genie conversation handles a caller passes back for follow-ups. */
  conversationHandles: ConversationHandles;
  /** Sends an MCP progress notification when the client asked for them; a no-op otherwise. */
  reportProgress(progress: number, message: string, total?: number): Promise<void>;
  /** Records a statement id this call caused (lands in the audit row). */
  recordStatement(statementId: string): void;
}

export interface ToolResult<O> {
  structured: O;
  /** Compact human-readable rendering for `content[0].text`. */
  text: string;
  /** Rows returned, for the audit record. */
  rowsReturned?: number;
}

/** A tool: schemas (public API — snapshotted), the scopes it needs, annotations, limits and a handler. */
export interface ToolDefinition<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  /** What the model reads to decide when to call the tool. */
  description: string;
  inputSchema: I;
  outputSchema: O;
  /** Workspace OAuth scopes the handler's API calls need (any one of `all-apis` or these). */
  scopes: readonly string[];
  annotations: ToolAnnotations;
  /** Milliseconds a call may take before it is cancelled. */
  timeoutMs?: number;
  /** Federation roles that may call it by default (the roles' side of the catalog; MCP_RBAC overrides). */
  roles?: readonly string[];
  handler(args: z.infer<z.ZodObject<I>>, ctx: ToolContext): Promise<ToolResult<z.infer<z.ZodObject<O>>>>;
}
