type Env = Record<string, string | undefined>;
type Json = Record<string, unknown>;

/** Values tried on a variable until the environment mapping takes one: a URL, a number, a word, a key=value list. */
const PROBES = ["https://probe.example.com", "1", "probe", "probe=1"];

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Key paths where `after` differs from `before`, as deep as both sides share structure. */
function changedPaths(before: unknown, after: unknown, path: string[] = []): string[] {
  // Empty sections are pruned from the mapping's output: an absent side reads as an empty one.
  const asSection = (v: unknown): Json | undefined => (isObject(v) ? v : v === undefined ? {} : undefined);
  const b = asSection(before);
  const a = asSection(after);
  if (b && a && before !== after) {
    const keys = new Set([...Object.keys(b), ...Object.keys(a)]);
    return [...keys].flatMap((k) => changedPaths(b[k], a[k], [...path, k]));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length)
    return before.flatMap((b, i) => changedPaths(b, after[i], [...path, String(i)]));
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [path.join(".")];
}

/** Runs the mapping on `env`, noting every variable it reads; undefined when it refuses the values. */
function readWith(fromEnv: (env: Env) => Json, env: Env): { config: Json; read: string[] } | undefined {
  const read: string[] = [];
  const watched = new Proxy(env, {
    get: (target, key) => {
      if (typeof key === "string" && !read.includes(key)) read.push(key);
      return target[key as string];
    },
  });
  try {
    return { config: fromEnv(watched), read };
  } catch {
    return undefined;
  }
}

/**
 * The environment variable behind each configuration key, learnt from the mapping itself: each variable it reads is
 * set alone (in the context that made it read) and the keys that change are that variable's. A variable added to the
 * mapping is therefore named in errors without a second list to keep. Variables feeding the same key are named
 * together, in the order they are read ("MCP_HTTP_PORT or DATABRICKS_APP_PORT").
 */
export function deriveEnvNames(fromEnv: (env: Env) => Json): Map<string, string> {
  const names = new Map<string, string>();
  const seen = new Set<string>();
  const queue: { variable: string; context: Env }[] = [];
  const enqueue = (read: string[], context: Env) => {
    for (const variable of read) {
      if (seen.has(variable)) continue;
      seen.add(variable);
      queue.push({ variable, context });
    }
  };
  enqueue(readWith(fromEnv, {})?.read ?? [], {});
  for (let i = 0; i < queue.length; i++) {
    const { variable, context } = queue[i]!;
    const before = readWith(fromEnv, context);
    if (!before) continue;
    for (const probe of PROBES) {
      const env = { ...context, [variable]: probe };
      const after = readWith(fromEnv, env);
      if (!after) continue;
      // A key spelled by the probe itself (OTEL headers' `probe=1`) is the person's data: the variable owns its parent.
      const paths = changedPaths(before.config, after.config).map((p) => p.replace(/\.probe$/, ""));
      for (const path of paths) names.set(path, names.has(path) ? `${names.get(path)} or ${variable}` : variable);
      enqueue(after.read, env);
      if (paths.length > 0) break;
    }
  }
  return names;
}

/** A lookup of the variable behind a key path (`policy.rbac.west_sales.0` → MCP_RBAC): the longest mapped prefix. */
export function envNameLookup(fromEnv: (env: Env) => Json): (path: readonly PropertyKey[]) => string | undefined {
  let names: Map<string, string> | undefined;
  return (path) => {
    names ??= deriveEnvNames(fromEnv);
    for (let n = path.length; n > 0; n--) {
      const name = names.get(path.slice(0, n).map(String).join("."));
      if (name) return name;
    }
    return undefined;
  };
}

/** An example value for the JSON-valued variables, shown when one does not parse. */
export const JSON_EXAMPLES: Record<string, string> = {
  MCP_RBAC: '{"west_sales":["check_identity","query_sales_data"],"executive":["check_identity","query_audit_log"]}',
  MCP_ROLE_TO_SERVICE_PRINCIPAL: '{"west_sales":"<application-id>"}',
};
