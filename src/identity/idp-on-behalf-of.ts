import type { IdpOboConfig } from "../config/idp-obo-schema.js";
import { ErrorCodes, IdentityError } from "../errors.js";
import { postTokenForm, tokenErrorOf, type TokenAnswer } from "./token-form.js";
import type { AccessToken } from "./types.js";

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/** The AADSTS code of a Microsoft identity platform error (kept for operators; the description is not passed on). */
function aadstsOf(body: TokenAnswer): string {
  const code = Array.isArray(body.error_codes) ? body.error_codes[0] : undefined;
  return typeof code === "number" ? `, AADSTS${code}` : "";
}

/**
 * OAuth 2.0 on-behalf-of (Microsoft identity platform): the user's token, as `assertion`, for a token of the same
 * user whose audience is the workspace resource, asked for by this server's confidential client. Expired assertions
 * are the caller's to renew; a refused grant is a refusal; nothing is retried with another identity.
 */
export async function onBehalfOfGrant(idp: IdpOboConfig, assertion: string): Promise<AccessToken> {
  const { status, body } = await postTokenForm(
    idp.tokenEndpoint,
    {
      grant_type: JWT_BEARER,
      client_id: idp.clientId,
      client_secret: idp.clientSecret,
      assertion,
      scope: idp.scope,
      requested_token_use: "on_behalf_of",
    },
    { unreachable: "The identity provider's token endpoint could not be reached." },
  );
  if (status === 200 && typeof body.access_token === "string") {
    const expiresIn = typeof body.expires_in === "number" ? body.expires_in : Number(body.expires_in ?? 3600);
    return {
      accessToken: body.access_token,
      expiresAt: Math.floor(Date.now() / 1000) + (Number.isFinite(expiresIn) ? expiresIn : 3600),
      // A token of the workspace resource reaches every API the user may use: Databricks scopes do not narrow it.
      scopes: ["all-apis"],
    };
  }
  const error = tokenErrorOf(status, body);
  const detail = `${error}${aadstsOf(body)}`;
  if (aadstsOf(body) === ", AADSTS500133")
    throw new IdentityError(
      ErrorCodes.TOKEN_EXPIRED,
      `The identity provider found the user's token expired (${detail}); sign in again.`,
    );
  if (error === "invalid_grant")
    throw new IdentityError(
      ErrorCodes.EXCHANGE_POLICY_MISMATCH,
      `The identity provider refused to act on the user's behalf (${detail}): check the token's audience and the app's API permission for Azure Databricks.`,
    );
  throw new IdentityError(
    ErrorCodes.EXCHANGE_FAILED,
    `The identity provider refused the on-behalf-of request (${detail}).`,
  );
}
