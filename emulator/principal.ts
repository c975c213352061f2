import { ApiError } from "./http/errors.js";

/** The identity behind a workspace access token, as the local workspace sees it. */
export interface Principal {
  kind: "user" | "service_principal";
  /** `current_user()`: the user's email, or the service principal's application id. */
  name: string;
  displayName: string;
  /** Direct group memberships from the seed. */
  groups: string[];
  /** Scopes granted to the token; `all-apis` grants every API scope. */
  scopes: string[];
  /** Token expiry, epoch seconds. */
  expiresAt: number;
}

/** Scope names the local workspace enforces, matching Databricks OAuth scopes. */
export const Scopes = {
  all: "all-apis",
  sql: "sql",
  genie: "dashboards.genie",
  serving: "serving.serving-endpoints",
  vectorSearch: "vectorsearch.vector-search-indexes",
  vectorSearchEndpoints: "vectorsearch.vector-search-endpoints",
  currentUserRead: "iam.current-user:read",
  unityCatalog: "unity-catalog",
  offlineAccess: "offline_access",
} as const;

export function hasScope(principal: Principal, scope: string): boolean {
  return principal.scopes.includes(Scopes.all) || principal.scopes.includes(scope);
}

/** 403 PERMISSION_DENIED naming the missing scope, as Databricks does for under-scoped OAuth tokens. */
export function requireScope(principal: Principal, ...anyOf: string[]): void {
  if (anyOf.some((scope) => hasScope(principal, scope))) return;
  throw new ApiError(
    403,
    "PERMISSION_DENIED",
    `Provided OAuth token does not have required scopes: ${anyOf.join(" or ")}`,
  );
}
