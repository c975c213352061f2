import type { ResolvedCaller } from "../identity/types.js";
import { createMcpServer } from "../mcp/server-factory.js";
import { connectAudited } from "../mcp/malformed-calls.js";
import type { DispatcherDeps } from "../mcp/tool-dispatcher.js";
import { StdioTransport } from "./stdio-transport.js";
import type { EarlyStdioTransport } from "./early-stdio.js";

/** stdio: one local user, resolved once at start; the protocol server lives as long as the process. */
export async function startStdioServer(
  deps: DispatcherDeps,
  caller: ResolvedCaller,
  early?: EarlyStdioTransport,
): Promise<{ close(): Promise<void> }> {
  const server = createMcpServer(deps, caller);
  const transport = early ?? new StdioTransport();
  await connectAudited(server, transport, deps.audit, caller);
  if (early) {
    early.onMismatch = () => deps.logger.warn("the early initialize answer differs from the protocol server's");
    early.release();
  }
  return { close: () => server.close() };
}
