const SECRET_KEY =
  /token|secret|password|passwd|assertion|authorization|cookie|api[_-]?key|^code$|code_verifier|credential/i;
const SECRET_VALUE = /^(eyJ[\w-]+\.[\w-]+\.[\w-]*|dapi[0-9a-f]{16,}|dose[0-9a-f]{16,})$/i;

/** Tool arguments for the audit row: secrets removed, long values cut, depth and size bounded; never throws. */
export function redactArguments(value: unknown, maxChars: number, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value === "number" || typeof value === "boolean") return value;
  if (typeof value === "string") {
    if (SECRET_VALUE.test(value.trim())) return "[redacted]";
    return value.length > maxChars ? `${value.slice(0, maxChars)}…[cut ${value.length - maxChars} chars]` : value;
  }
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object" || value === undefined) return undefined;
  if (depth >= 6) return "[too deep]";
  if (seen.has(value)) return "[cycle]";
  seen.add(value);
  if (Array.isArray(value)) {
    const items = value.slice(0, 50).map((v) => redactArguments(v, maxChars, depth + 1, seen));
    return value.length > 50 ? [...items, `[${value.length - 50} more]`] : items;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).slice(0, 50)) {
    out[k.slice(0, 64)] = SECRET_KEY.test(k) ? "[redacted]" : redactArguments(v, maxChars, depth + 1, seen);
  }
  return out;
}

/** Nesting kept by the canonical form; deeper values are folded so a hostile depth cannot exhaust the stack. */
const CANONICAL_DEPTH = 256;

/**
 * The arguments as canonical JSON (keys sorted, no whitespace), with every secret replaced as in the audit row, so a
 * digest of it identifies the arguments without confirming a guessed secret. Nothing is cut but hostile nesting.
 */
export function canonicalArguments(value: unknown): string {
  return canonical(value, 0, new WeakSet<object>()) ?? "null";
}

function canonical(value: unknown, depth: number, seen: WeakSet<object>): string | undefined {
  if (value === null || typeof value === "boolean") return String(value);
  if (typeof value === "number") return JSON.stringify(value);
  if (typeof value === "string") return JSON.stringify(SECRET_VALUE.test(value.trim()) ? "[redacted]" : value);
  if (typeof value === "bigint") return JSON.stringify(value.toString());
  if (typeof value !== "object") return undefined;
  if (depth >= CANONICAL_DEPTH) return '"[too deep]"';
  if (seen.has(value)) return '"[cycle]"';
  seen.add(value);
  let out: string;
  if (Array.isArray(value)) out = `[${value.map((v) => canonical(v, depth + 1, seen) ?? "null").join(",")}]`;
  else {
    const members: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const v = SECRET_KEY.test(key)
        ? '"[redacted]"'
        : canonical((value as Record<string, unknown>)[key], depth + 1, seen);
      if (v !== undefined) members.push(`${JSON.stringify(key)}:${v}`);
    }
    out = `{${members.join(",")}}`;
  }
  seen.delete(value);
  return out;
}
