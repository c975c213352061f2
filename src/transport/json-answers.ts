import type { ServerResponse } from "node:http";

/** A JSON body with its length; nothing is written once headers went out or the client went away. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  // Encoded once: its length is the header, and the same bytes are the body.
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "content-type": "application/json", "content-length": bytes.length, ...headers });
  res.end(bytes);
}

/** A JSON-RPC error answering the whole POST (id null: no single request of it is answered). */
export function jsonRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers?: Record<string, string>,
  data?: Record<string, unknown>,
): void {
  sendJson(res, status, { jsonrpc: "2.0", error: { code, message, ...(data ? { data } : {}) }, id: null }, headers);
}
