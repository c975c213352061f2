import type { WorkspaceContext } from "../context.js";
import { sendJson, type Router } from "../http/router.js";
import { requireScope, Scopes } from "../principal.js";
import { stableId } from "./stable-id.js";
import { registerScimUserRoutes } from "./users.js";

/** SCIM `Me`: the caller as the workspace knows it. Scope: iam.current-user:read, or sql (tools that run SQL may ask who they are). */
export function registerScimRoutes(router: Router, ctx: WorkspaceContext): void {
  registerScimUserRoutes(router, ctx);
  router.add("GET", "/api/2.0/preview/scim/v2/Me", async ({ req, res }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.currentUserRead, Scopes.sql);
    const groups = principal.groups.map((g) => ({
      display: g,
      value: stableId(`group:${g}`),
      type: "direct",
      $ref: `Groups/${stableId(`group:${g}`)}`,
    }));
    if (principal.kind === "user") {
      sendJson(res, 200, {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
        id: stableId(principal.name),
        userName: principal.name,
        displayName: principal.displayName,
        active: true,
        emails: [{ value: principal.name, type: "work", primary: true }],
        groups,
      });
      return;
    }
    sendJson(res, 200, {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal"],
      id: stableId(principal.name),
      // `Me` answers in the User shape: a service principal's userName is its application id.
      userName: principal.name,
      applicationId: principal.name,
      displayName: principal.displayName,
      active: true,
      groups,
    });
  });
}
