import { ErrorCodes, IdentityError, PolicyError } from "../errors.js";
import { tokenRequestFetch } from "../databricks/token-request-retry.js";
import { postTokenForm, tokenErrorOf } from "./token-form.js";
import type { AccessToken } from "./types.js";
import { workspaceOAuthConfiguration } from "./workspace-oauth.js";

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const retryingTokenFetch = tokenRequestFetch();

/**
 * RFC 8693 under an account-wide federation policy: the caller's IdP JWT for a workspace token of the user its
 * subject claim names. No `client_id` goes out (that would ask for a service principal instead), which is why this
 * is a plain form POST and not openid-client's grant helper (it always names a client).
 */
export async function exchangeTokenForUser(
  host: string,
  subjectToken: string,
  scopes: readonly string[],
): Promise<AccessToken> {
  if (scopes.length === 0)
    throw new PolicyError(
      ErrorCodes.TOOL_NOT_ALLOWED,
      "This caller may call no tool, so no workspace token is requested.",
    );
  const endpoint = (await workspaceOAuthConfiguration(host, "account-federation")).serverMetadata().token_endpoint;
  if (!endpoint)
    throw new IdentityError(ErrorCodes.EXCHANGE_FAILED, `The workspace at ${host} names no token endpoint.`);
  const { status, body } = await postTokenForm(
    endpoint,
    {
      grant_type: TOKEN_EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      scope: scopes.join(" "),
    },
    { fetch: retryingTokenFetch, unreachable: "The token exchange for the user could not reach the workspace." },
  );
  if (status === 200 && typeof body.access_token === "string") {
    const expiresIn = typeof body.expires_in === "number" ? body.expires_in : 3600;
    return {
      accessToken: body.access_token,
      expiresAt: Math.floor(Date.now() / 1000) + expiresIn,
      scopes: typeof body.scope === "string" ? body.scope.split(" ").filter(Boolean) : [...scopes],
    };
  }
  const error = tokenErrorOf(status, body);
  if (error === "invalid_grant" || error === "invalid_client")
    throw new IdentityError(
      ErrorCodes.EXCHANGE_POLICY_MISMATCH,
      `The workspace refused the token exchange for the user (${error}): check the account federation policy and that the user exists in the workspace.`,
    );
  throw new IdentityError(
    ErrorCodes.EXCHANGE_FAILED,
    `The workspace refused the token exchange for the user (${error}).`,
  );
}
