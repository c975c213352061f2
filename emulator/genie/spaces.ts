import type { WorkspaceContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import { paginate } from "../http/pagination.js";
import { sendJson, type Router } from "../http/router.js";
import { Scopes, requireScope, type Principal } from "../principal.js";
import type { Seed } from "../seed/schema.js";

export type GenieSpace = Seed["genieSpaces"][number];

const mayRun = (ctx: WorkspaceContext, space: GenieSpace, principal: Principal) =>
  ctx.directory.allows(space.permissions, principal, "CAN_RUN");

/** The space the caller names, if it exists (404) and the caller has CAN_RUN on it (403), as Databricks checks. */
export function spaceFor(ctx: WorkspaceContext, principal: Principal, spaceId: string): GenieSpace {
  const space = ctx.seed.genieSpaces.find((s) => s.id === spaceId);
  if (!space)
    throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", `Unable to get space [${spaceId}]. The space does not exist.`);
  if (!mayRun(ctx, space, principal)) {
    throw new ApiError(
      403,
      "PERMISSION_DENIED",
      `You need "Can Run" permission on Genie space [${spaceId}] to perform this action.`,
    );
  }
  return space;
}

const spaceJson = (space: GenieSpace) => ({ space_id: space.id, title: space.title, warehouse_id: space.warehouseId });

/** `GET /api/2.0/genie/spaces` (the spaces the caller may run, paginated) and `GET /api/2.0/genie/spaces/{id}`. */
export function registerGenieSpaceRoutes(router: Router, ctx: WorkspaceContext): void {
  router.add("GET", "/api/2.0/genie/spaces", async ({ req, res, url }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.genie);
    const page = paginate(
      ctx.seed.genieSpaces.filter((space) => mayRun(ctx, space, principal)),
      url,
    );
    sendJson(res, 200, { spaces: page.items.map(spaceJson), next_page_token: page.nextPageToken });
  });

  router.add("GET", "/api/2.0/genie/spaces/:space_id", async ({ req, res, params }) => {
    const principal = await ctx.auth.authenticate(req);
    requireScope(principal, Scopes.genie);
    sendJson(res, 200, spaceJson(spaceFor(ctx, principal, params.space_id!)));
  });
}
