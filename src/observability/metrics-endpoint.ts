import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isIP } from "node:net";
import type { Config } from "../config/schema.js";
import { isHostAllowed } from "../transport/http-guards.js";

/** What a refusal of `/metrics` answers. */
export interface MetricsRefusal {
  status: 401 | 403;
  message: string;
}

/** What the access decision looks at in a request. */
export interface MetricsRequest {
  /** The peer's address as the socket sees it. */
  peer: string | undefined;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Where `/metrics` is served and who may read it; both listeners ask this one place. */
export interface MetricsEndpoint {
  /** A listener of its own, when configured; the MCP port then answers 404 for `/metrics`. */
  ownListener?: { host: string; port: number };
  /** Said once at start when the default narrows who may read. */
  warning?: string;
  /** Why this request may not read the metrics, or undefined when it may. */
  refusalFor(request: MetricsRequest): MetricsRefusal | undefined;
  /** Answers one request for `/metrics`. */
  serve(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const bare = address.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(bare);
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/** True when the Authorization header carries exactly this bearer token (compared in constant time, length too). */
function bearerMatches(header: string | string[] | undefined, expected: Buffer): boolean {
  if (typeof header !== "string") return false;
  const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
  return match !== null && timingSafeEqual(digest(match[1]!), expected);
}

/** Headers a reverse proxy adds: a request carrying one came from further away than its loopback peer. */
const FORWARDING_HEADERS = ["forwarded", "x-forwarded-for", "x-real-ip"] as const;

export function metricsEndpoint(config: Config, text: () => Promise<string>): MetricsEndpoint {
  const { metricsToken, metricsHost, metricsPort } = config.observability;
  const expected = metricsToken === undefined ? undefined : digest(metricsToken);
  const ownListener = metricsPort === undefined ? undefined : { host: metricsHost ?? "127.0.0.1", port: metricsPort };
  // With neither a token nor a listener of its own, a server bound beyond loopback serves /metrics only to clients on
  // its own host (a sidecar, a node agent), never to the network it listens on: closed by default, yet scrapable.
  const loopbackOnly = !expected && !ownListener && !isLoopbackAddress(config.server.host);

  function refusalFor(request: MetricsRequest): MetricsRefusal | undefined {
    if (expected) {
      if (bearerMatches(request.headers.authorization, expected)) return undefined;
      return { status: 401, message: "/metrics needs `Authorization: Bearer <MCP_METRICS_TOKEN>`." };
    }
    if (!loopbackOnly) return undefined;
    const forwarded = FORWARDING_HEADERS.some((name) => request.headers[name] !== undefined);
    if (isLoopbackAddress(request.peer) && !forwarded) return undefined;
    return {
      status: 403,
      message: "/metrics is served to this host only; set MCP_METRICS_TOKEN or MCP_METRICS_PORT to scrape from afar.",
    };
  }

  return {
    ownListener,
    warning: loopbackOnly
      ? `The server listens on ${config.server.host} with neither MCP_METRICS_TOKEN nor MCP_METRICS_PORT set: /metrics answers loopback clients only`
      : undefined,
    refusalFor,
    async serve(req, res) {
      const refusal = refusalFor({ peer: req.socket.remoteAddress, headers: req.headers });
      if (refusal) {
        const body = JSON.stringify({
          error: refusal.status === 401 ? "unauthorized" : "forbidden",
          message: refusal.message,
        });
        res.writeHead(refusal.status, {
          "content-type": "application/json",
          ...(refusal.status === 401 ? { "www-authenticate": 'Bearer realm="metrics"' } : {}),
        });
        res.end(body);
        return;
      }
      const exposition = await text();
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(exposition);
    },
  };
}

export interface RunningMetricsListener {
  url: string;
  close(): Promise<void>;
}

/**
 * The listener of its own for `/metrics` (observability.metricsPort): nothing else is served there. A Host header must
 * be loopback, an allowed host, or an IP literal (DNS rebinding needs a name).
 */
export async function startMetricsListener(
  endpoint: MetricsEndpoint & { ownListener: { host: string; port: number } },
  allowedHosts: readonly string[],
): Promise<RunningMetricsListener> {
  const server = createServer((req, res) => {
    const hostname = (req.headers.host ?? "").replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
    if (!isHostAllowed(req, allowedHosts) && isIP(hostname) === 0) {
      res.writeHead(403, { "content-type": "application/json" }).end('{"error":"forbidden"}');
      return;
    }
    if ((req.url ?? "/").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not_found"}');
      return;
    }
    endpoint.serve(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.end();
    });
  });
  const { host, port } = endpoint.ownListener;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
