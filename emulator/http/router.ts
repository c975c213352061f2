import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError, OAuthError } from "./errors.js";

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Path parameters from `:name` segments, URI-decoded. */
  params: Record<string, string>;
}

export type RouteHandler = (ctx: RouteContext) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: RouteHandler;
}

/** Matches `/api/2.0/sql/statements/:statement_id`-style paths; `:name+` matches several segments. */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: RouteHandler): this {
    const keys: string[] = [];
    const source = path
      .split("/")
      .map((segment) => {
        const m = /^:(\w+)(\+?)$/.exec(segment);
        if (!m) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        keys.push(m[1]!);
        return m[2] ? "(.+)" : "([^/]+)";
      })
      .join("/");
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), keys, handler });
    return this;
  }

  /** Finds the route for a request; `undefined` when no path matches, `"method"` when only the method differs. */
  match(
    method: string,
    pathname: string,
  ): { handler: RouteHandler; params: Record<string, string> } | "method" | undefined {
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(pathname);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => {
        params[key] = decodeURIComponent(m[i + 1]!);
      });
      return { handler: route.handler, params };
    }
    return pathMatched ? "method" : undefined;
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof ApiError) {
    sendJson(res, err.status, { error_code: err.errorCode, message: err.message }, err.headers);
  } else if (err instanceof OAuthError) {
    sendJson(
      res,
      err.status,
      { error: err.error, error_description: err.description },
      { "cache-control": "no-store" },
    );
  } else {
    sendJson(res, 500, { error_code: "INTERNAL_ERROR", message: "The local workspace failed to process the request." });
  }
}

const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Reads the body as text, refusing more than `limit` bytes with 400 (Databricks answers oversized requests with 400). */
export async function readBodyText(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) throw new ApiError(400, "INVALID_PARAMETER_VALUE", `Request body exceeds ${limit} bytes.`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ApiError(400, "INVALID_PARAMETER_VALUE", `Request body exceeds ${limit} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads a JSON object body; malformed JSON is a 400 MALFORMED_REQUEST, never a crash. */
export async function readJsonObject(req: IncomingMessage, limit?: number): Promise<Record<string, unknown>> {
  const text = await readBodyText(req, limit);
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError(400, "MALFORMED_REQUEST", "Could not parse request object: malformed JSON.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ApiError(400, "MALFORMED_REQUEST", "Request body must be a JSON object.");
  }
  return parsed as Record<string, unknown>;
}

/** Reads an `application/x-www-form-urlencoded` body (OAuth token endpoint). */
export async function readForm(req: IncomingMessage, limit = 64 * 1024): Promise<URLSearchParams> {
  let text: string;
  try {
    text = await readBodyText(req, limit);
  } catch {
    throw new OAuthError(400, "invalid_request", "Request body is too large.");
  }
  return new URLSearchParams(text);
}
