import { auditedCall, isPlainObject } from "../mcp/malformed-calls.js";
import { MAX_BATCH_MESSAGES } from "./post-transport.js";

/** What one audit row of a refusal at the door names: a tools/call of the body, or the request as a whole. */
export interface RefusalRow {
  tool: string;
  arguments: Record<string, unknown>;
}

/**
 * The audit rows a POST refused at the door leaves: one per tools/call it carries, in its order, so every call that
 * reached the server is accounted for; one for the request when it carries none. A batch past the batch limit is one
 * row with its counts: its size alone is why it is refused, and it must not write more rows than a batch that runs.
 */
export function refusalRowsOf(body: unknown): RefusalRow[] {
  const messages: unknown[] = Array.isArray(body) ? body : [body];
  const calls = messages.filter((m): m is Record<string, unknown> => isPlainObject(m) && m.method === "tools/call");
  if (messages.length > MAX_BATCH_MESSAGES)
    return [{ tool: "(batch)", arguments: { batch: { messages: messages.length, tool_calls: calls.length } } }];
  if (calls.length > 0) return calls.map(auditedCall);
  if (isPlainObject(body) && typeof body.method === "string")
    return [{ tool: body.method.slice(0, 64), arguments: {} }];
  return [{ tool: Array.isArray(body) ? "(batch)" : "(request)", arguments: {} }];
}
