import { JSONRPCMessageSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { isPlainObject } from "../mcp/malformed-calls.js";

export type EnvelopeCheck = { ok: true; message: JSONRPCMessage } | { ok: false; error: Error };

const REQUEST_KEYS = new Set(["jsonrpc", "id", "method", "params"]);
const NOTIFICATION_KEYS = new Set(["jsonrpc", "method", "params"]);

/**
 * The JSON-RPC verdict of the SDK's `JSONRPCMessageSchema` for one parsed stdin line. The shapes a client sends on
 * every call (a request or notification whose params carry no `_meta`) are checked by hand, which at one call every
 * few milliseconds costs a fraction of the schema's parse; everything else goes through the schema itself.
 */
export function checkEnvelope(value: unknown): EnvelopeCheck {
  if (isCommonShape(value)) return { ok: true, message: value as JSONRPCMessage };
  const parsed = JSONRPCMessageSchema.safeParse(value);
  return parsed.success ? { ok: true, message: parsed.data } : { ok: false, error: parsed.error };
}

/** A request or notification the schema accepts as it is; false leaves the verdict to the schema. */
function isCommonShape(value: unknown): boolean {
  if (!isPlainObject(value) || value.jsonrpc !== "2.0" || typeof value.method !== "string") return false;
  const allowed = "id" in value ? REQUEST_KEYS : NOTIFICATION_KEYS;
  for (const key in value) if (!Object.hasOwn(value, key) || !allowed.has(key)) return false;
  if ("id" in value && typeof value.id !== "string" && !Number.isSafeInteger(value.id)) return false;
  if (!("params" in value)) return true;
  // `_meta` has a schema of its own; an own `__proto__` key would not survive the schema's copy unchanged.
  const { params } = value;
  return isPlainObject(params) && !Object.hasOwn(params, "_meta") && !Object.hasOwn(params, "__proto__");
}
