import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { ResolvedCaller } from "../identity/types.js";
import { allowedTools } from "../policy/tool-access.js";
import { dispatchToolCall, type DispatcherDeps } from "./tool-dispatcher.js";

export const SERVER_INFO = { name: "databricks-governed-mcp", version: "0.1.0" } as const;

const INSTRUCTIONS =
  "Governed access to Databricks data as the caller. Unity Catalog decides which rows and columns come back; " +
  "tools/list shows only the tools this caller may use. Call check_identity to see who the workspace thinks you are.";

/**
 * An MCP protocol server bound to one caller. Cheap to build (schemas are compiled once in the catalog), so the
 * stateless HTTP transport builds one per request and no state crosses callers.
 */
export function createMcpServer(deps: DispatcherDeps, caller: ResolvedCaller, connectionSignal?: AbortSignal): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: { listChanged: false }, logging: {} },
    instructions: INSTRUCTIONS,
  });
  server.setRequestHandler(ListToolsRequestSchema, () => {
    const allowed = allowedTools(caller.identity, deps.config);
    return { tools: allowed.flatMap((name) => deps.catalog.get(name)?.listing ?? []) };
  });
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    dispatchToolCall(deps, caller, request.params.name, request.params.arguments, {
      // Stateless HTTP: a client that gives up closes the connection; that cancels the call like notifications/cancelled.
      signal: connectionSignal ? AbortSignal.any([extra.signal, connectionSignal]) : extra.signal,
      progressToken: request.params._meta?.progressToken,
      sendNotification: extra.sendNotification,
    }),
  );
  return server;
}
