/** What Unity Catalog says of the functions, schemas and connections a tool catalog names. */

/** A check's outcome when it can be more than passed or failed. */
export type Verdict = { status: "ok" | "warn"; detail: string; fix?: string };
/** A GET of the workspace API as the identity a check runs as. */
export type Get = (path: string) => Promise<Record<string, unknown>>;

/** The function's details: it exists and the caller may execute it (Unity Catalog answers 403 otherwise). */
export async function functionVerdict(name: string, get: Get): Promise<Verdict> {
  const fn = await get(`/api/2.1/unity-catalog/functions/${encodeURIComponent(name)}`);
  return { status: "ok", detail: typeof fn.full_name === "string" ? `reachable: ${fn.full_name}` : "reachable" };
}

/** The schema's functions the caller can see: none means the entry would offer no tool. */
export async function schemaVerdict(name: string, get: Get): Promise<Verdict> {
  const [catalog, schema] = name.split(".");
  const query = new URLSearchParams({ catalog_name: catalog!, schema_name: schema! });
  const body = await get(`/api/2.1/unity-catalog/functions?${query}`);
  const count = Array.isArray(body.functions) ? body.functions.length : 0;
  if (count === 0)
    return {
      status: "warn",
      detail: "no function the caller may see",
      fix: `Grant EXECUTE on the functions of ${name}, or remove the entry.`,
    };
  return { status: "ok", detail: `${count} function${count === 1 ? "" : "s"}` };
}

/** The connection's details: it exists and the caller has USE CONNECTION. */
export async function connectionVerdict(name: string, get: Get): Promise<Verdict> {
  const connection = await get(`/api/2.1/unity-catalog/connections/${encodeURIComponent(name)}`);
  const type = typeof connection.connection_type === "string" ? `, ${connection.connection_type}` : "";
  return { status: "ok", detail: `reachable${type}` };
}
