import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { GovernedError, asGovernedError, httpStatusFor, ErrorCodes } from "../errors.js";
import type { InboundRequest, ResolvedCaller } from "../identity/types.js";
import { createMcpServer } from "../mcp/server-factory.js";
import { InFlightCalls } from "../mcp/in-flight-calls.js";
import type { DispatcherDeps } from "../mcp/tool-dispatcher.js";
import { isHostAllowed, isOriginAllowed, isProtocolVersionSupported } from "./http-guards.js";

export interface HttpServerDeps {
  config: Config;
  dispatcher: DispatcherDeps;
  logger: Logger;
  resolveCaller(request: InboundRequest): Promise<ResolvedCaller>;
  /** Authorization servers a client may get a token from (the IdP and/or the workspace). */
  authorizationServers: string[];
  scopesSupported: string[];
  readiness(): Promise<{ ready: boolean; checks: Record<string, string> }>;
  /** Prometheus text for `/metrics`, when metrics are on. */
  metrics?(): Promise<string>;
  /** Called once the server stopped accepting and in-flight calls drained (flush the audit spool here). */
  onShutdown?(): Promise<void>;
}

export interface RunningHttpServer {
  url: string;
  server: Server;
  /** Stop accepting, finish in-flight calls within the configured deadline, then run onShutdown. */
  shutdown(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function jsonRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers?: Record<string, string>,
): void {
  sendJson(res, status, { jsonrpc: "2.0", error: { code, message }, id: null }, headers);
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  if (Number(req.headers["content-length"] ?? 0) > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function lowerCaseHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

/** Streamable HTTP, stateless: every POST builds its own protocol server for its own caller; replicas need no stickiness. */
export async function startHttpServer(deps: HttpServerDeps): Promise<RunningHttpServer> {
  const { config, logger } = deps;
  const path = config.server.path;
  let inFlight = 0;
  const runningCalls = new InFlightCalls();
  let draining = false;
  let drained: (() => void) | undefined;

  const server = createServer();
  await new Promise<void>((resolve) => server.listen(config.server.port, config.server.host, resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host}:${port}`;
  const base = (config.server.publicUrl ?? url).replace(/\/+$/, "");
  const metadataUrl = `${base}/.well-known/oauth-protected-resource${path}`;
  const resourceMetadata = {
    resource: `${base}${path}`,
    authorization_servers: deps.authorizationServers,
    scopes_supported: deps.scopesSupported,
    bearer_methods_supported: ["header"],
    resource_name: "databricks-governed-mcp",
  };

  function challenge(err: GovernedError): Record<string, string> {
    const status = httpStatusFor(err.code);
    const parts = [`resource_metadata="${metadataUrl}"`];
    if (err.code === ErrorCodes.SCOPE_MISSING) parts.unshift(`error="insufficient_scope"`);
    else if (status === 401 && err.code !== ErrorCodes.UNAUTHENTICATED)
      parts.unshift(`error="invalid_token"`, `error_description="${err.code}"`);
    return { "www-authenticate": `Bearer ${parts.join(", ")}` };
  }

  async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "POST") {
      res.writeHead(405, { allow: "POST" }).end();
      return;
    }
    if (!isProtocolVersionSupported(req)) {
      jsonRpcError(
        res,
        400,
        -32600,
        `Unsupported MCP-Protocol-Version: ${String(req.headers["mcp-protocol-version"]).slice(0, 40)}`,
      );
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, config.server.maxBodyBytes));
    } catch (err) {
      if (err instanceof BodyTooLarge)
        jsonRpcError(res, 413, -32600, `Request body exceeds ${config.server.maxBodyBytes} bytes.`);
      else jsonRpcError(res, 400, -32700, "Parse error: the body is not valid JSON.");
      return;
    }
    let caller: ResolvedCaller;
    try {
      caller = await deps.resolveCaller({ transport: "http", headers: lowerCaseHeaders(req) });
    } catch (err) {
      const governed = asGovernedError(err);
      const status = httpStatusFor(governed.code);
      await deps.dispatcher.audit
        .record({
          requestId: String(req.headers["x-request-id"] ?? "").slice(0, 64) || "unauthenticated",
          mode: "unresolved",
          credentialSource: req.headers["x-forwarded-access-token"]
            ? "proxy-header"
            : req.headers.authorization
              ? "bearer"
              : "none",
          tool: toolNameOf(body) ?? "(authentication)",
          arguments: {},
          outcome: "denied",
          errorCode: governed.code,
          latencyMs: 0,
          statementIds: [],
        })
        .catch((auditErr: unknown) => logger.error({ err: auditErr }, "audit of a refused request failed"));
      jsonRpcError(
        res,
        status >= 500 ? status : status === 403 ? 403 : 401,
        -32001,
        `[${governed.code}] ${governed.message}`,
        status < 500 ? challenge(governed) : {},
      );
      return;
    }
    const connection = new AbortController();
    const mcp = createMcpServer(deps.dispatcher, caller, {
      connectionSignal: connection.signal,
      inFlight: runningCalls,
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => {
      if (!res.writableFinished) connection.abort();
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const pathname = (req.url ?? "/").split("?")[0]!;
    if (draining) {
      res.writeHead(503, { connection: "close", "retry-after": "1" }).end();
      return;
    }
    if (!isHostAllowed(req, config.server.allowedHosts)) {
      sendJson(res, 403, { error: "forbidden", error_description: "Host header not allowed." });
      return;
    }
    if (!isOriginAllowed(req, config.server.allowedOrigins)) {
      sendJson(res, 403, { error: "forbidden", error_description: "Origin not allowed." });
      return;
    }
    inFlight += 1;
    res.on("close", () => {
      inFlight -= 1;
      if (draining && inFlight === 0) drained?.();
    });
    void (async () => {
      try {
        if (pathname === path) return await handleMcp(req, res);
        if (pathname === "/healthz") return sendJson(res, 200, { status: "ok" });
        if (pathname === "/readyz") {
          const r = await deps.readiness();
          return sendJson(res, r.ready ? 200 : 503, { status: r.ready ? "ready" : "not ready", checks: r.checks });
        }
        if (
          pathname === "/.well-known/oauth-protected-resource" ||
          pathname === `/.well-known/oauth-protected-resource${path}`
        ) {
          return sendJson(res, 200, resourceMetadata, { "cache-control": "max-age=300" });
        }
        if (pathname === "/metrics" && deps.metrics) {
          const text = await deps.metrics();
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(text);
          return;
        }
        sendJson(res, 404, { error: "not_found" });
      } catch (err) {
        logger.error({ err }, "http request failed");
        if (!res.headersSent) jsonRpcError(res, 500, -32603, "Internal error.");
        else res.end();
      }
    })();
  });

  return {
    url,
    server,
    async shutdown() {
      draining = true;
      server.close();
      if (inFlight > 0) {
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => setTimeout(resolve, config.server.shutdownDeadlineMs).unref()),
        ]);
      }
      server.closeAllConnections();
      await deps.onShutdown?.();
    },
  };
}

function toolNameOf(body: unknown): string | undefined {
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const b = body as { method?: unknown; params?: { name?: unknown } };
    if (b.method === "tools/call" && typeof b.params?.name === "string") return b.params.name.slice(0, 128);
    if (typeof b.method === "string") return b.method.slice(0, 64);
  }
  return undefined;
}
