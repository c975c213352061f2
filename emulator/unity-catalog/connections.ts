import type { WorkspaceContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import { readJsonObject, sendJson, type Router } from "../http/router.js";
import { requireScope, Scopes, type Principal } from "../principal.js";
import { GITHUB_BASE_PATH, GITHUB_TOKEN, registerGithubStandIn } from "../local-services/github.js";
import { PARTNER_BASE_PATH, PARTNER_TOKEN, registerPartnerStandIn } from "../local-services/partner.js";
import { METASTORE_ID } from "./routes.js";

/** An HTTP connection of the local metastore: where it points, the credential it holds, and who may USE it. */
export interface UcConnection {
  name: string;
  comment: string;
  basePath: string;
  bearerToken: string;
  /** Holders of USE CONNECTION (groups, users or service principals). */
  users: string[];
}

/** The seed's connections: both point at stand-ins served on the workspace's own loopback address. */
export const SEED_CONNECTIONS: readonly UcConnection[] = [
  {
    name: "github",
    comment: "GitHub's REST API (a local stand-in that answers repository searches).",
    basePath: GITHUB_BASE_PATH,
    bearerToken: GITHUB_TOKEN,
    users: ["executive", "admin"],
  },
  {
    name: "partner_api",
    comment: "A partner's credit-score API (a local stand-in).",
    basePath: PARTNER_BASE_PATH,
    bearerToken: PARTNER_TOKEN,
    users: ["executive", "admin"],
  },
];

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);
const CREATED_AT = Date.UTC(2026, 9, 1);

/** ConnectionInfo as Unity Catalog returns it: options name where it points, never the credential. */
function connectionInfo(c: UcConnection, baseUrl: string): Record<string, unknown> {
  const url = new URL(baseUrl);
  return {
    name: c.name,
    full_name: c.name,
    connection_type: "HTTP",
    comment: c.comment,
    options: { host: `${url.protocol}//${url.hostname}`, port: url.port, base_path: c.basePath },
    owner: "uc_owner",
    read_only: false,
    metastore_id: METASTORE_ID,
    credential_type: "BEARER_TOKEN",
    created_at: CREATED_AT,
    created_by: "uc_owner",
    updated_at: CREATED_AT,
    updated_by: "uc_owner",
  };
}

/** A JSON-text field of the request (`headers`, `json`, `params`) as an object, or undefined. */
function jsonField(body: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const text = body[key];
  if (text === undefined || text === null || text === "") return undefined;
  try {
    const parsed: unknown = typeof text === "string" ? JSON.parse(text) : undefined;
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new ApiError(400, "INVALID_PARAMETER_VALUE", `${key} must be a JSON object encoded as a string.`);
}

/**
 * Unity Catalog connections and the serving endpoints' external-function call: the workspace checks USE CONNECTION
 * for the caller, then calls the connection's host with the connection's credential; the caller never sees it.
 */
export function registerUnityCatalogConnectionRoutes(router: Router, ctx: WorkspaceContext): void {
  registerGithubStandIn(router);
  registerPartnerStandIn(router);
  const mayUse = (c: UcConnection, principal: Principal) =>
    ctx.directory.allows(
      c.users.map((p) => ({ principal: p, level: "USE_CONNECTION" })),
      principal,
      "USE_CONNECTION",
    );
  const named = (name: string) => {
    const c = SEED_CONNECTIONS.find((x) => x.name === name.toLowerCase());
    if (!c) throw new ApiError(404, "NOT_FOUND", `Connection '${name.slice(0, 128)}' does not exist.`);
    return c;
  };

  router.add("GET", "/api/2.1/unity-catalog/connections", async ({ req, res }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.unityCatalog);
    sendJson(res, 200, {
      connections: SEED_CONNECTIONS.filter((c) => mayUse(c, principal)).map((c) => connectionInfo(c, ctx.baseUrl)),
    });
  });

  router.add("GET", "/api/2.1/unity-catalog/connections/:name", async ({ req, res, params }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.unityCatalog);
    const c = named(params.name!);
    if (!mayUse(c, principal))
      throw new ApiError(403, "PERMISSION_DENIED", `User does not have USE CONNECTION on Connection '${c.name}'.`);
    sendJson(res, 200, connectionInfo(c, ctx.baseUrl));
  });

  router.add("POST", "/api/2.0/external-function", async ({ req, res }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.serving);
    const body = await readJsonObject(req);
    const name = typeof body.connection_name === "string" ? body.connection_name : "";
    const method = typeof body.method === "string" ? body.method.toUpperCase() : "";
    const path = typeof body.path === "string" ? body.path : "";
    if (!name || !METHODS.has(method) || !path.startsWith("/") || path.includes("..") || path.includes("//"))
      throw new ApiError(
        400,
        "INVALID_PARAMETER_VALUE",
        "connection_name, method (GET, POST, PUT, PATCH, DELETE) and a path starting with / are required.",
      );
    const connection = named(name);
    if (!mayUse(connection, principal))
      throw new ApiError(
        403,
        "PERMISSION_DENIED",
        `User does not have USE CONNECTION on Connection '${connection.name}'.`,
      );
    const target = new URL(`${connection.basePath}${path}`, ctx.baseUrl);
    for (const [k, v] of Object.entries(jsonField(body, "params") ?? {})) target.searchParams.set(k, String(v));
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(jsonField(body, "headers") ?? {}))
      if (k.toLowerCase() !== "authorization") headers[k] = String(v);
    const json = jsonField(body, "json");
    const remote = await fetch(target, {
      method,
      headers: {
        ...headers,
        ...(json ? { "content-type": "application/json" } : {}),
        authorization: `Bearer ${connection.bearerToken}`,
      },
      body: json ? JSON.stringify(json) : undefined,
    });
    const text = await remote.text();
    res.writeHead(remote.status, { "content-type": remote.headers.get("content-type") ?? "text/plain" });
    res.end(text);
  });
}
