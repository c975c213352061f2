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
const KEEP_ALIVE = { keepAliveTimeout: 1000, keepAliveMaxTimeout: 1000 };
const clientPool = new Agent({ ...KEEP_ALIVE, connections: 128 });
/** One pool per source address: undici binds sockets to the pool's own `localAddress` (one inside `connect` is lost). */
const sourcePools = new Map<string, Agent>();
let lastSource = 0;

function poolFrom(source: string): Agent {
  let pool = sourcePools.get(source);
  if (!pool) {
    pool = new Agent({ ...KEEP_ALIVE, localAddress: source });
    sourcePools.set(source, pool);
  }
  return pool;
}

/** Closes the pools of every source address used so far (their idle sockets close on their own otherwise). */
export async function closeSourcePools(): Promise<void> {
  const pools = [...sourcePools.values()];
  sourcePools.clear();
  await Promise.all(pools.map((pool) => pool.close()));
}

/**
 * A loopback address (127.0.0.2, .3, …) no earlier request of this process came from. The server folds refusals of
 * one source address, code and minute into one audit record; a request from a fresh source is recorded on its own.
 */
export function freshLoopbackSource(): string {
  lastSource += 1;
  return `127.0.${Math.floor(lastSource / 250)}.${(lastSource % 250) + 2}`;
}

/** One raw POST to the MCP endpoint, as a hostile or careless client would send it. */
export async function rpc(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
  /** The local address to connect from (see freshLoopbackSource); the shared pool's otherwise. */
  source?: string,
): Promise<RpcAnswer> {
  const res = await undiciFetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal,
    dispatcher: source === undefined ? clientPool : poolFrom(source),
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
