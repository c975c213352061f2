import { ErrorCodes, IdentityError } from "../../errors.js";
import { postTokenForm, tokenErrorOf } from "../token-form.js";
import { workspaceOAuthConfiguration } from "../workspace-oauth.js";

/** What the workspace gave the broker for one user: kept sealed, never sent to an MCP client. */
export interface WorkspaceGrant {
  user: string;
  accessToken: string;
  refreshToken?: string;
  /** Epoch seconds. */
  expiresAt: number;
  scopes: string[];
}

/** Thrown when the workspace no longer honours the user's refresh token (revoked, expired, or the connection removed). */
export class GrantRevokedError extends IdentityError {
  constructor() {
    super(ErrorCodes.TOKEN_EXPIRED, "The workspace no longer accepts this sign-in; sign in again.");
  }
}

/**
 * One token request of the app connection (a confidential client: HTTP Basic with its secret) at the workspace's
 * token endpoint. Authorization codes and refresh tokens go out once: neither is retried.
 */
export async function workspaceTokenRequest(
  host: string,
  client: { clientId: string; clientSecret: string },
  params: Record<string, string>,
  nowS: number,
): Promise<Omit<WorkspaceGrant, "user">> {
  const endpoint = (await workspaceOAuthConfiguration(host, client.clientId, client.clientSecret)).serverMetadata()
    .token_endpoint!;
  const basic = Buffer.from(
    `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`,
  ).toString("base64");
  const { status, body } = await postTokenForm(endpoint, params, {
    headers: { authorization: `Basic ${basic}` },
    unreachable: "The workspace's token endpoint could not be reached.",
  });
  if (status === 200 && typeof body.access_token === "string") {
    return {
      accessToken: body.access_token,
      ...(typeof body.refresh_token === "string" ? { refreshToken: body.refresh_token } : {}),
      expiresAt: nowS + (typeof body.expires_in === "number" ? body.expires_in : 3600),
      scopes: typeof body.scope === "string" ? body.scope.split(" ").filter(Boolean) : [],
    };
  }
  if (body.error === "invalid_grant") throw new GrantRevokedError();
  const error = tokenErrorOf(status, body);
  throw new IdentityError(ErrorCodes.EXCHANGE_FAILED, `The workspace refused the app connection's request (${error}).`);
}
