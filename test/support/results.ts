/** Rows of a tool's structured result as objects, whatever the column descriptor shape ({name} or plain names). */
export function rowsAsObjects(structured: unknown): Record<string, unknown>[] {
  const s = structured as { columns?: unknown[]; rows?: unknown[] };
  const names = (s.columns ?? []).map((c) => (typeof c === "string" ? c : (c as { name: string }).name));
  return (s.rows ?? []).map((row) => {
    if (!Array.isArray(row)) return row as Record<string, unknown>;
    return Object.fromEntries(names.map((n, i) => [n, row[i]]));
  });
}

/** Any UUID in a text, as request, record and statement ids are written. */
export const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
/** Instants read off the wall clock per call (a PAT's assumed expiry is an hour from now): two calls may straddle a second. */
const INSTANT = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/g;

/** An answer's JSON as two paths answering the same call can be compared: ids and wall-clock instants masked. */
export function comparableJson(json: string): unknown {
  return JSON.parse(json.replace(UUID, "<uuid>").replace(INSTANT, "<instant>"));
}

export function textOf(result: unknown): string {
  const content = ((result as { content?: unknown }).content ?? []) as { type: string; text?: string }[];
  return content.map((c) => c.text ?? "").join("\n");
}

/** A tools/call's answer: its result, or a JSON-RPC error (an unknown or forbidden tool) put in the shape of one. */
export interface CallAnswer {
  isError?: boolean;
  content?: unknown;
  structuredContent?: unknown;
  _meta?: Record<string, unknown>;
  /** The JSON-RPC error code when the call was refused as a protocol error rather than answered with a result. */
  jsonRpcCode?: number;
}

/** Calls a tool with any MCP SDK client (v1 or v2); a JSON-RPC error answer comes back as a result-shaped refusal. */
export async function callOrRefusal(
  client: { callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown> },
  params: { name: string; arguments?: Record<string, unknown> },
): Promise<CallAnswer> {
  try {
    return (await client.callTool(params)) as CallAnswer;
  } catch (err) {
    const { code, message, data } = err as { code?: unknown; message: string; data?: Record<string, unknown> };
    if (typeof code !== "number") throw err;
    return {
      isError: true,
      // The v1 client prefixes the server's message with "MCP error <code>: ".
      content: [{ type: "text", text: message.replace(/^MCP error -?\d+: /, "") }],
      _meta: { error_code: data?.error_code, request_id: data?.request_id },
      jsonRpcCode: code,
    };
  }
}
