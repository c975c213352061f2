import type { IncomingMessage, ServerResponse } from "node:http";
import {
  classifyInboundRequest,
  createMcpHandler,
  type InboundClassificationOutcome,
  type McpHttpHandler,
} from "@modelcontextprotocol/server";
import type { Logger } from "pino";
import type { ResolvedCaller } from "../identity/types.js";
import { createMcpServer } from "../mcp/server-factory.js";
import type { InFlightCalls } from "../mcp/in-flight-calls.js";
import { auditMalformedCalls } from "../mcp/malformed-calls.js";
import type { DispatcherDeps } from "../mcp/tool-dispatcher.js";
import { plainlyLegacy } from "./legacy-post.js";

/** Which era a POST speaks (or which 2026-07-28 rule it breaks), decided from its body and headers as the SDK does. */
export function classifyPost(req: IncomingMessage, body: unknown): InboundClassificationOutcome {
  const header = (name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  };
  const version = header("mcp-protocol-version");
  const plain = plainlyLegacy(version, body);
  if (plain) return plain;
  return classifyInboundRequest({
    httpMethod: "POST",
    protocolVersionHeader: version,
    mcpMethodHeader: header("mcp-method"),
    mcpNameHeader: header("mcp-name"),
    body,
  });
}

/** What one 2026-07-28 exchange is served for: the caller verified at the door, and the client's connection. */
interface Exchange {
  caller: ResolvedCaller;
  connectionSignal: AbortSignal;
}

export interface ModernEraDeps {
  dispatcher: DispatcherDeps;
  inFlight: InFlightCalls;
  logger: Logger;
  maxBodyBytes: number;
}

/**
 * 2026-07-28 over streamable HTTP, served by the SDK's own entry (`server/discover`, the per-request envelope, the
 * Mcp-Method and Mcp-Name headers checked against the body, per-request log level, subscriptions) from the same
 * per-caller protocol server as 2025-11-25. The door (Host, Origin, body limit, identity, scopes) runs before it.
 */
export class ModernEra {
  private readonly exchanges = new WeakMap<Request, Exchange>();
  private readonly handler: McpHttpHandler;

  constructor(private readonly deps: ModernEraDeps) {
    this.handler = createMcpHandler(
      (ctx) => {
        const exchange = ctx.requestInfo && this.exchanges.get(ctx.requestInfo);
        // Fail closed: an exchange with no verified caller never gets a protocol server.
        if (!exchange) throw new Error("A 2026-07-28 exchange reached the protocol layer without a verified caller.");
        const server = createMcpServer(deps.dispatcher, exchange.caller, {
          connectionSignal: exchange.connectionSignal,
          inFlight: deps.inFlight,
        });
        auditMalformedCalls(server, deps.dispatcher.audit, exchange.caller);
        return server;
      },
      {
        // 2025-era POSTs never get here: the HTTP server serves them on its own stateless transport.
        legacy: "reject",
        maxRequestBodySize: deps.maxBodyBytes,
        onerror: (err) => deps.logger.debug({ err: err.message }, "2026-07-28 exchange refused or failed"),
      },
    );
  }

  /**
   * Serves one POST already read and admitted; resolves to the SDK's answer when it is a refusal (any status but 2xx),
   * which the caller audits before sending, or undefined once a successful answer was written.
   */
  async serve(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    caller: ResolvedCaller,
    connection: AbortController,
  ): Promise<{ status: number; answer: unknown } | undefined> {
    const request = new Request(`http://mcp.local${req.url ?? "/"}`, {
      method: "POST",
      headers: webHeaders(req),
      signal: connection.signal,
    });
    this.exchanges.set(request, { caller, connectionSignal: connection.signal });
    const response = await this.handler.fetch(request, { parsedBody: body });
    if (response.status >= 400 && response.status !== 499) {
      const text = await response.text();
      return { status: response.status, answer: parseOrText(text) };
    }
    await writeResponse(res, response);
    return undefined;
  }

  close(): Promise<void> {
    return this.handler.close();
  }
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The headers the SDK's entry reads; the credential stays behind (the caller is already resolved). */
function webHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === "authorization" || name === "cookie" || name === "host") continue;
    if (name === "x-forwarded-access-token") continue;
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  return headers;
}

/** Writes a web Response to Node's response, streaming an event stream frame by frame as it comes. */
async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  if (res.headersSent || res.destroyed) return;
  if (response.status === 499) {
    res.destroy();
    return;
  }
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) {
    res.end();
    return;
  }
  res.flushHeaders();
  for await (const chunk of response.body) {
    if (res.destroyed) break;
    res.write(chunk);
  }
  res.end();
}
