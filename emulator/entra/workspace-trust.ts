import type { IncomingMessage } from "node:http";
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from "jose";
import type { Authenticator, WorkspaceContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import { Scopes, type Principal } from "../principal.js";
import { AZURE_DATABRICKS_RESOURCE_ID } from "./issuer.js";

/** The claims Azure Databricks reads the user from, in order: work accounts carry upn, others preferred_username or email. */
const USER_CLAIMS = ["upn", "preferred_username", "email", "unique_name"] as const;

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return header ? /^Bearer\s+([\w.~+/=-]+)$/i.exec(header)?.[1] : undefined;
}

function peekIssuer(token: string): string | undefined {
  try {
    return decodeJwt(token).iss;
  } catch {
    return undefined;
  }
}

function userNameOf(payload: JWTPayload): string | undefined {
  for (const claim of USER_CLAIMS) if (typeof payload[claim] === "string" && payload[claim]) return payload[claim];
  return undefined;
}

/**
 * Makes the local workspace accept, as Azure Databricks does, Entra access tokens of one tenant whose audience is the
 * Azure Databricks resource id: the user named in the token acts, with every API a user token reaches. Tokens of any
 * other issuer still go to the workspace's own verification.
 */
export function trustEntraIssuer(ctx: WorkspaceContext, entra: { resourceIssuer: string; jwksUri: string }): void {
  const workspaceAuth: Authenticator = ctx.auth;
  const keys = createRemoteJWKSet(new URL(entra.jwksUri), { cooldownDuration: 1000 });
  ctx.auth = {
    async authenticate(req: IncomingMessage): Promise<Principal> {
      const token = bearer(req);
      if (!token || peekIssuer(token) !== entra.resourceIssuer) return workspaceAuth.authenticate(req);
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: entra.resourceIssuer,
          audience: AZURE_DATABRICKS_RESOURCE_ID,
          algorithms: ["RS256"],
          clockTolerance: 30,
        }));
      } catch (err) {
        const expired = (err as { code?: string }).code === "ERR_JWT_EXPIRED";
        throw new ApiError(401, "UNAUTHENTICATED", expired ? "Token expired." : "Invalid access token.");
      }
      const userName = userNameOf(payload);
      const principal = userName ? ctx.directory.principalFor(userName, [Scopes.all], payload.exp ?? 0) : undefined;
      if (!principal || principal.kind !== "user") throw new ApiError(401, "UNAUTHENTICATED", "Invalid access token.");
      return principal;
    },
  };
}
