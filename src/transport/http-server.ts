import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { InboundLadderRejection, JSONRPCMessage } from "@modelcontextprotocol/server";
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { PolicyError, asGovernedError, ErrorCodes } from "../errors.js";
import type { InboundRequest, ResolvedCaller } from "../identity/types.js";
import { createMcpServer } from "../mcp/server-factory.js";
import { InFlightCalls } from "../mcp/in-flight-calls.js";
import { linkedAbort } from "../linked-abort.js";
import { connectAudited } from "../mcp/malformed-calls.js";
import { answerPlainToolCall, plainToolCall } from "../mcp/plain-tool-call.js";
import type { ToolCallRequest } from "../mcp/governed-call.js";
import type { DispatcherDeps } from "../mcp/tool-dispatcher.js";
import { isHostAllowed, isOriginAllowed, isProtocolVersionSupported } from "./http-guards.js";
import { DoorRefusals, type DoorRequest } from "./door-refusals.js";
import { classifyPost, ModernEra } from "./modern-era.js";
import { jsonRpcError, sendJson } from "./json-answers.js";
import { serviceIndex } from "./service-index.js";
import { withInboundTrace } from "../observability/trace-context.js";
import { checkPost, PostTransport, unsupportedVersion } from "./post-transport.js";
import { refusedByQuota } from "./quota-door.js";
import { protectedResourceMetadata, resourceIdentifiers } from "./protected-resource.js";

export interface HttpServerDeps {
  config: Config;
  dispatcher: DispatcherDeps;
  logger: Logger;
  resolveCaller(request: InboundRequest): Promise<ResolvedCaller>;
  /** Authorization servers a client may get a token from (the IdP and/or the workspace). */
  authorizationServers: string[];
  scopesSupported: string[];
  /** Scopes a client should ask the first authorization server for, named in the 401 challenge (MCP SEP-835). */
  challengeScopes?: string[];
  readiness(): Promise<{ ready: boolean; checks: Record<string, string> }>;
  /** Answers `/metrics` when it is served on this port (who may read it: observability/metrics-endpoint.ts). */
  metrics?(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Called once the server stopped accepting and in-flight calls drained (flush the audit spool here). */
  onShutdown?(): Promise<void>;
  /** Further paths served on this port (the sign-in broker's authorization server); false when not one of its own. */
  routes?(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
}

export interface RunningHttpServer {
  url: string;
  server: Server;
  /** Stop accepting, finish in-flight calls within the configured deadline, then run onShutdown. */
  shutdown(): Promise<void>;
}

class BodyTooLarge extends Error {}

/** The request body as text, refused past `limit` bytes (declared or received). */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers["content-length"] ?? 0) > limit) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(new BodyTooLarge());
      } else chunks.push(chunk);
    });
    req.on("end", () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8")),
    );
    req.on("error", reject);
  });
}

const UNREAD = Symbol("unread");

/** The POST's body as JSON; too large or not JSON, it is answered here and UNREAD returned. */
async function readJsonBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<unknown> {
  try {
    return JSON.parse(await readBody(req, limit));
  } catch (err) {
    if (err instanceof BodyTooLarge) jsonRpcError(res, 413, -32600, `Request body exceeds ${limit} bytes.`);
    else jsonRpcError(res, 400, -32700, "Parse error: the body is not valid JSON.");
    return UNREAD;
  }
}

function lowerCaseHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k] = Array.isArray(v) ? v.join(", ") : v;
  // Node keeps only the first of repeated Authorization headers; joined, the identity layer sees there were several.
  const authorization = rawValuesOf(req.rawHeaders, "authorization");
  if (authorization.length > 1) out.authorization = authorization.join(", ");
  return out;
}

/** Every value sent under a header name (lower case), in order, read from the raw headers without copying the rest. */
function rawValuesOf(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    if (rawHeaders[i]!.length === name.length && rawHeaders[i]!.toLowerCase() === name) values.push(rawHeaders[i + 1]!);
  return values;
}

/**
 * Streamable HTTP, stateless: every POST is served on its own for its own caller (a plain `tools/call` by the dispatcher,
 * anything else by a protocol server built for it); replicas need no stickiness.
 */
export async function startHttpServer(deps: HttpServerDeps): Promise<RunningHttpServer> {
  const { config, logger } = deps;
  const path = config.server.path;
  let inFlight = 0;
  const runningCalls = new InFlightCalls();
  let draining = false;
  let drained: (() => void) | undefined;

  const server = createServer();
  // Longer than the idle timeouts of common load balancers and clients, so they close idle sockets first.
  server.keepAliveTimeout = 65_000;
  // A port in use rejects here (and reaches the CLI as one line) instead of throwing from an 'error' event.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host}:${port}`;
  const resource = resourceIdentifiers(config.server, url);
  const metadataUrl = `${resource.root}/.well-known/oauth-protected-resource${path}`;
  const servers = { authorizationServers: deps.authorizationServers, scopesSupported: deps.scopesSupported };
  const rootMetadata = protectedResourceMetadata(resource.root, servers);
  const endpointMetadata = protectedResourceMetadata(resource.endpoint, servers);

  const modern = new ModernEra({
    dispatcher: deps.dispatcher,
    inFlight: runningCalls,
    logger,
    maxBodyBytes: config.server.maxBodyBytes,
  });
  const door = new DoorRefusals({
    audit: deps.dispatcher.audit,
    logger,
    metadataUrl,
    challengeScopes: deps.challengeScopes,
  });

  async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "POST") {
      res.writeHead(405, { allow: "POST" }).end();
      return;
    }
    const body = await readJsonBody(req, res, config.server.maxBodyBytes);
    if (body === UNREAD) return;
    const at = { req, res, body };
    let caller: ResolvedCaller;
    try {
      caller = await deps.resolveCaller({ transport: "http", headers: lowerCaseHeaders(req) });
    } catch (err) {
      return door.refuseCaller(at, asGovernedError(err));
    }
    // Identity before version and era: a caller without a valid credential always gets the 401 challenge that starts
    // its sign-in, and learns nothing else of the server; a refusal's rows then name who was refused.
    if (!isProtocolVersionSupported(req))
      return door.refuseRequest(at, unsupportedVersion(req.headers["mcp-protocol-version"]), caller);
    const era = classifyPost(req, body);
    // A body that is no JSON-RPC message at all is refused below as it always was (-32700), whatever its era.
    if (era.kind === "reject" && era.rung !== "jsonrpc-shape")
      return door.refuseAnswered(at, era.httpStatus, ladderAnswer(era, body), caller);
    if (era.kind === "modern") return serveModern(at, caller);
    const checked = checkPost(req.headers, body);
    if ("refusal" in checked) return door.refuseRequest(at, checked.refusal, caller);
    if (await refusedForScopes(at, caller)) return;
    if (await refusedByQuota(deps.dispatcher.quota, body, caller, (err) => door.refuseCaller(at, err, caller))) return;
    await serve(req, res, caller, checked.messages);
  }

  /** A token valid but short of a scope the called tool needs gets 403 insufficient_scope, so clients can step up. */
  async function refusedForScopes(at: DoorRequest, caller: ResolvedCaller): Promise<boolean> {
    const lacking = scopesLackedFor(at.body, caller, deps.dispatcher);
    if (lacking.length === 0) return false;
    const tool = toolNameOf(at.body) ?? "";
    const err = new PolicyError(
      ErrorCodes.SCOPE_MISSING,
      `The credential lacks the scope(s) ${lacking.join(", ")} that ${tool} needs.`,
    );
    await door.refuseCaller(at, err, caller, lacking);
    return true;
  }

  /** A 2026-07-28 POST that passed the door: the SDK's entry serves it; its refusals are audited like ours. */
  async function serveModern(at: DoorRequest, caller: ResolvedCaller): Promise<void> {
    if (await refusedForScopes(at, caller)) return;
    const connection = new AbortController();
    at.res.on("close", () => {
      if (!at.res.writableFinished) connection.abort();
    });
    const refused = await modern.serve(at.req, at.res, at.body, caller, connection);
    if (refused) await door.refuseAnswered(at, refused.status, refused.answer, caller);
  }

  /** Hands a POST that passed the door to a protocol server of its own, bound to its caller. */
  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    caller: ResolvedCaller,
    messages: JSONRPCMessage[],
  ): Promise<void> {
    const plain = plainToolCall(messages);
    if (plain) return answerDirectly(res, caller, plain);
    const connection = new AbortController();
    const mcp = createMcpServer(deps.dispatcher, caller, {
      connectionSignal: connection.signal,
      inFlight: runningCalls,
    });
    // A plain JSON answer unless the client asked for progress, which only an event stream can carry.
    const transport = new PostTransport(res, asksForProgress(messages));
    res.on("close", () => {
      // A client that went away before its answer: its calls are cancelled (and still audited).
      if (res.writableFinished) return;
      connection.abort();
      void mcp.close();
    });
    await connectAudited(mcp, transport, deps.dispatcher.audit, caller);
    transport.deliver(messages);
  }

  /** The usual call, a single plain `tools/call`, answered by the dispatcher without a protocol server of its own. */
  async function answerDirectly(res: ServerResponse, caller: ResolvedCaller, request: ToolCallRequest): Promise<void> {
    // A limit rather than an AbortController: the call's own limit follows it without an event listener, and its
    // signal is made only if something asks for it.
    const running = linkedAbort([]);
    // A client that went away before its answer: its call is cancelled (and still audited).
    res.on("close", () => {
      if (!res.writableFinished) running.abort();
    });
    const inFlight = { calls: runningCalls, callerKey: InFlightCalls.callerKey(caller.identity) };
    sendJson(res, 200, await answerPlainToolCall(deps.dispatcher, caller, request, running, inFlight));
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
    // An inbound traceparent header makes this request's spans part of the caller's trace.
    void withInboundTrace(req.headers, async () => {
      try {
        if (pathname === path) return await handleMcp(req, res);
        if (pathname === "/healthz") return sendJson(res, 200, { status: "ok" });
        if (pathname === "/" && req.method === "GET") return sendJson(res, 200, serviceIndex(resource.root, path));
        if (pathname === "/readyz") {
          const r = await deps.readiness();
          return sendJson(res, r.ready ? 200 : 503, { status: r.ready ? "ready" : "not ready", checks: r.checks });
        }
        if (pathname === "/.well-known/oauth-protected-resource")
          return sendJson(res, 200, rootMetadata, { "cache-control": "max-age=300" });
        if (pathname === `/.well-known/oauth-protected-resource${path}`)
          return sendJson(res, 200, endpointMetadata, { "cache-control": "max-age=300" });
        if (pathname === "/metrics" && deps.metrics) return await deps.metrics(req, res);
        if (deps.routes && (await deps.routes(req, res, new URL(req.url ?? "/", url)))) return;
        sendJson(res, 404, { error: "not_found" });
      } catch (err) {
        logger.error({ err }, "http request failed");
        if (!res.headersSent) jsonRpcError(res, 500, -32603, "Internal error.");
        else res.end();
      }
    });
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
      await modern.close();
      await deps.onShutdown?.();
    },
  };
}

/** The JSON-RPC answer to a POST the 2026-07-28 validation ladder refuses before any protocol server sees it. */
function ladderAnswer(rejection: InboundLadderRejection, body: unknown): Record<string, unknown> {
  const { code, message, data } = rejection;
  // 2026-07-28: an error answer carries the id of the request it refuses, when one can be read.
  const id = (body as { id?: unknown } | null)?.id;
  return {
    jsonrpc: "2.0",
    id: typeof id === "string" || typeof id === "number" ? id : null,
    error: { code, message, ...(data !== undefined ? { data } : {}) },
  };
}

/** Scopes a single `tools/call` needs that the caller's credential lacks; empty when none or not a tool it may call. */
function scopesLackedFor(body: unknown, caller: ResolvedCaller, dispatcher: DispatcherDeps): string[] {
  if (!body || typeof body !== "object" || Array.isArray(body)) return [];
  const b = body as { method?: unknown; params?: { name?: unknown } };
  if (b.method !== "tools/call" || typeof b.params?.name !== "string") return [];
  // Unknown or forbidden tools are refused by the dispatcher, with its own error and audit record.
  return dispatcher.policy.lackingScopes(caller.identity, b.params.name);
}

function toolNameOf(body: unknown): string | undefined {
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const b = body as { method?: unknown; params?: { name?: unknown } };
    if (b.method === "tools/call" && typeof b.params?.name === "string") return b.params.name.slice(0, 128);
    if (typeof b.method === "string") return b.method.slice(0, 64);
  }
  return undefined;
}

/** True when a request of the body carries a progress token (its answer must then be an event stream). */
function asksForProgress(messages: readonly unknown[]): boolean {
  return messages.some((m) => {
    const meta = (m as { params?: { _meta?: { progressToken?: unknown } } } | null)?.params?._meta;
    return meta !== undefined && meta !== null && typeof meta === "object" && meta.progressToken !== undefined;
  });
}
