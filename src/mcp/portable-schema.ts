/**
 * A JSON Schema every MCP client can map: no `type` arrays. A client that maps tool schemas onto a single-`type`
 * dialect (the OpenAPI subset of Gemini function declarations, as ADK does) may reject a tool or drop a constraint
 * when a `type` is an array such as `["string", "null"]`; the same union as `anyOf` branches, one `type` each, says
 * the same thing and maps everywhere. A schema with no validation keyword at all (any JSON value, e.g. a remote
 * service's answer) is spelled out as the same union of every JSON type. The MCP Inspector's `--strict` schema check
 * warns on both forms.
 */
/** Keywords that describe a schema without constraining its instances. */
const ANNOTATIONS = new Set([
  "description",
  "title",
  "default",
  "examples",
  "deprecated",
  "readOnly",
  "writeOnly",
  "$comment",
]);

/** Any JSON value, one single-type branch per JSON type. */
const ANY_JSON = ["object", "array", "string", "number", "boolean", "null"].map((type) => ({ type }));

/** A property's or an item's schema, with "any JSON value" spelled out when nothing constrains it. */
function declared(schema: unknown): unknown {
  const out = portableSchema(schema);
  if (!out || typeof out !== "object" || Array.isArray(out)) return out;
  const unconstrained = Object.keys(out).every((key) => ANNOTATIONS.has(key));
  return unconstrained ? { ...out, anyOf: ANY_JSON } : out;
}

export function portableSchema<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map((item: unknown) => portableSchema(item)) as T;
  if (!schema || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    // Property names are data, not keywords: only their schemas are rewritten.
    if (key === "properties" && value && typeof value === "object" && !Array.isArray(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, declared(child)]));
    } else if (key === "items" && value && typeof value === "object" && !Array.isArray(value)) {
      out[key] = declared(value);
    } else if (key !== "type" || !Array.isArray(value)) out[key] = portableSchema(value);
  }
  const { type } = schema as { type?: unknown };
  if (!Array.isArray(type)) return out as T;
  const branches = type.map((t: unknown) => ({ type: t }));
  // An `anyOf` already there is kept as a conjunct: both must hold, as they did together before.
  if (out.anyOf === undefined) out.anyOf = branches;
  else out.allOf = [...((out.allOf as unknown[]) ?? []), { anyOf: branches }];
  return out as T;
}
