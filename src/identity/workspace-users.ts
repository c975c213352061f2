import { LRUCache } from "lru-cache";
import type { Config } from "../config/schema.js";
import { ErrorCodes, IdentityError } from "../errors.js";
import { systemClock, type Clock } from "../clock.js";
import { TokenCache, cacheKey } from "./token-cache.js";
import { clientCredentials } from "./workspace-oauth.js";

/** Whether the workspace has a user of this name, asked as the server's own service principal. */
export interface WorkspaceUsers {
  knows(userName: string): Promise<boolean>;
}

/** SCIM filter string value: a quote or a backslash is escaped, so a name cannot widen the filter. */
const scimString = (value: string) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

// SCIM lookups are not among the tools' scopes; Databricks documents no narrower scope for listing users.
const LOOKUP_SCOPES = ["all-apis"];

/**
 * SCIM `Users?filter=userName eq "…"` with a client-credentials token of the server's service principal. Answers are
 * reused for the workspace-view TTL (a user added or removed is seen within it); a failed lookup is an error, never
 * "unknown", so an outage cannot turn users into their role.
 */
export function createWorkspaceUsers(config: Config, cache: TokenCache, clock: Clock = systemClock): WorkspaceUsers {
  const host = config.workspace.host!;
  const { clientId, clientSecret } = config.identity.m2m;
  const ttlMs = config.identity.workspaceViewTtlS * 1000;
  const answers = new LRUCache<string, { known: boolean; untilMs: number }>({
    max: config.identity.tokenCache.maxEntries,
  });
  const key = cacheKey("user-directory", clientId ?? "", LOOKUP_SCOPES);

  async function lookUp(userName: string): Promise<boolean> {
    if (!clientId || !clientSecret)
      throw new IdentityError(ErrorCodes.EXCHANGE_FAILED, "No service principal is configured to look users up.");
    const token = await cache.get(key, () => clientCredentials(host, clientId, clientSecret, LOOKUP_SCOPES));
    const url = new URL(`${host}/api/2.0/preview/scim/v2/Users`);
    url.searchParams.set("filter", `userName eq ${scimString(userName)}`);
    url.searchParams.set("attributes", "userName");
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${token.accessToken}`, accept: "application/scim+json" },
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
    if (res?.status === 401) cache.evict(key);
    if (!res?.ok)
      throw new IdentityError(
        ErrorCodes.EXCHANGE_FAILED,
        `The workspace could not say whether it knows the user (${res ? `HTTP ${res.status}` : "unreachable"}); retry later.`,
      );
    const body = (await res.json()) as { Resources?: { userName?: unknown }[] };
    return (body.Resources ?? []).some(
      (user) => typeof user.userName === "string" && user.userName.toLowerCase() === userName.toLowerCase(),
    );
  }

  return {
    async knows(userName) {
      const name = userName.toLowerCase();
      const hit = answers.get(name);
      if (hit && hit.untilMs > clock.now()) return hit.known;
      const known = await lookUp(userName);
      if (ttlMs > 0) answers.set(name, { known, untilMs: clock.now() + ttlMs });
      return known;
    },
  };
}
