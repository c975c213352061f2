import { serveStdio } from "@modelcontextprotocol/server/stdio";
import type { ResolvedCaller } from "../identity/types.js";
import { createMcpServer } from "../mcp/server-factory.js";
import { gateTransport } from "../mcp/malformed-calls.js";
import type { DispatcherDeps } from "../mcp/tool-dispatcher.js";
import { StdioTransport } from "./stdio-transport.js";
import type { EarlyStdioTransport } from "./early-stdio.js";

/**
 * stdio: one local user, resolved once at start. The SDK's entry picks the era from the client's opening message
 * (`server/discover` for 2026-07-28, `initialize` for 2025-11-25) and pins one protocol server for the connection.
 */
export async function startStdioServer(
  deps: DispatcherDeps,
  caller: ResolvedCaller,
  early?: EarlyStdioTransport,
): Promise<{ close(): Promise<void> }> {
  const transport = early ?? new StdioTransport();
  const handle = serveStdio(() => createMcpServer(deps, caller), { transport });
  // After the entry took the transport's messages: a malformed tools/call is refused and audited before it routes.
  gateTransport(transport, deps.audit, caller);
  if (early) {
    early.onMismatch = () => deps.logger.warn("the early initialize answer differs from the protocol server's");
    // Messages held while the server started flow now, through the gate, in arrival order.
    early.release();
  }
  return handle;
}
