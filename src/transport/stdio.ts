import type { ResolvedCaller } from "../identity/types.js";
import { createMcpServer } from "../mcp/server-factory.js";
import { connectAudited } from "../mcp/malformed-calls.js";
import type { DispatcherDeps } from "../mcp/tool-dispatcher.js";
import { StdioTransport } from "./stdio-transport.js";

/** stdio: one local user, resolved once at start; the protocol server lives as long as the process. */
export async function startStdioServer(
  deps: DispatcherDeps,
  caller: ResolvedCaller,
): Promise<{ close(): Promise<void> }> {
  const server = createMcpServer(deps, caller);
  const transport = new StdioTransport();
  await connectAudited(server, transport, deps.audit, caller);
  return { close: () => server.close() };
}
