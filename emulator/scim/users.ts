import type { WorkspaceContext } from "../context.js";
import { sendJson, type Router } from "../http/router.js";
import { requireScope, Scopes } from "../principal.js";
import { stableId } from "./stable-id.js";

const LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";

/** The one filter form served: `userName eq "value"` (SCIM string escapes `\"` and `\\`). */
function userNameFilter(filter: string): string | undefined {
  const m = /^\s*userName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i.exec(filter);
  return m ? m[1]!.replace(/\\(.)/g, "$1") : undefined;
}

/** SCIM `GET /Users`: the workspace's users, filtered by `userName eq "…"`; SCIM list and error bodies. */
export function registerScimUserRoutes(router: Router, ctx: WorkspaceContext): void {
  router.add("GET", "/api/2.0/preview/scim/v2/Users", async ({ req, res, url }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.all);
    const filter = url.searchParams.get("filter");
    let users = ctx.seed.users;
    if (filter !== null) {
      const name = userNameFilter(filter);
      if (name === undefined) {
        sendJson(res, 400, {
          schemas: [SCIM_ERROR],
          detail: "Unsupported filter.",
          status: "400",
          scimType: "invalidFilter",
        });
        return;
      }
      const user = ctx.directory.userByName(name);
      users = user ? [user] : [];
    }
    const resources = users.map((user) => ({
      id: stableId(user.userName),
      userName: user.userName,
      displayName: user.displayName,
      active: true,
      emails: [{ value: user.userName, type: "work", primary: true }],
    }));
    sendJson(res, 200, {
      schemas: [LIST_RESPONSE],
      totalResults: resources.length,
      startIndex: 1,
      itemsPerPage: resources.length,
      Resources: resources,
    });
  });
}
