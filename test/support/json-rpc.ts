import { Agent, fetch as undiciFetch } from "undici";

export interface RpcAnswer {
  status: number;
  headers: { get(name: string): string | null };
  /** JSON-RPC messages of the answer, from a JSON body or an SSE stream. */
  messages: Record<string, unknown>[];
  text: string;
}

/**
 * Test clients keep idle connections for less than the server's keep-alive (Node's default 5 s), as a well-behaved
 * client does; otherwise a loaded machine can reuse a socket the server is closing and see a reset no server caused.
 */
const clientPool = new Agent({ keepAliveTimeout: 1000, keepAliveMaxTimeout: 1000, connections: 128 });

/** One raw POST to the MCP endpoint, as a hostile or careless client would send it. */
export async function rpc(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<RpcAnswer> {
  const res = await undiciFetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal,
    dispatcher: clientPool,
  });
  const text = await res.text();
  const messages: Record<string, unknown>[] = [];
  if ((res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    for (const line of text.split("\n"))
      if (line.startsWith("data: ")) messages.push(JSON.parse(line.slice(6)) as Record<string, unknown>);
  } else if (text.trim()) {
    try {
      const parsed: unknown = JSON.parse(text);
      messages.push(...((Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[]));
    } catch {
      // Not JSON: the status and text say enough.
    }
  }
  return { status: res.status, headers: res.headers, messages, text };
}
