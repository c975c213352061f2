import * as oauth from "openid-client";
import { ErrorCodes, IdentityError, PolicyError, type ErrorCode } from "../errors.js";
import type { AccessToken } from "./types.js";
import { tokenRequestFetch } from "../databricks/token-request-retry.js";

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const configurations = new Map<string, Promise<oauth.Configuration>>();
const retryingTokenFetch = tokenRequestFetch();

/** The workspace's OAuth server metadata, discovered once per host and client (no secret: a public client). */
export function workspaceOAuthConfiguration(
  host: string,
  clientId: string,
  clientSecret?: string,
): Promise<oauth.Configuration> {
  const key = JSON.stringify([host, clientId, clientSecret ?? ""]);
  let config = configurations.get(key);
  if (!config) {
    const issuer = new URL(`${host}/oidc`);
    const auth = clientSecret ? oauth.ClientSecretBasic(clientSecret) : oauth.None();
    // Databricks serves its metadata at {host}/oidc/.well-known/oauth-authorization-server (not RFC 8414 path insertion).
    config = fetch(`${host}/oidc/.well-known/oauth-authorization-server`, { signal: AbortSignal.timeout(10_000) })
      .then(async (res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const metadata = (await res.json()) as oauth.ServerMetadata;
        const configuration = new oauth.Configuration(metadata, clientId, undefined, auth);
        if (issuer.protocol === "http:") oauth.allowInsecureRequests(configuration);
        // Client-credentials and exchange requests are retried through resets, 429 and 503; a code goes out once.
        configuration[oauth.customFetch] = retryingTokenFetch;
        return configuration;
      })
      .catch((err: unknown) => {
        configurations.delete(key);
        throw new IdentityError(
          ErrorCodes.EXCHANGE_FAILED,
          `The workspace OAuth server at ${host} could not be discovered.`,
          { hint: String((err as Error).message).slice(0, 120) },
        );
      });
    configurations.set(key, config);
  }
  return config;
}

export function toAccessToken(response: oauth.TokenEndpointResponse, requested: readonly string[]): AccessToken {
  const expiresIn = response.expires_in ?? 3600;
  return {
    accessToken: response.access_token,
    expiresAt: Math.floor(Date.now() / 1000) + expiresIn,
    scopes: response.scope ? response.scope.split(" ") : [...requested],
  };
}

export function mapOAuthError(
  err: unknown,
  action: string,
  refused: { code: ErrorCode; hint: string } = {
    code: ErrorCodes.EXCHANGE_POLICY_MISMATCH,
    hint: "check the federation policy or client credentials",
  },
): IdentityError {
  if (err instanceof oauth.ResponseBodyError) {
    if (err.error === "invalid_grant" || err.error === "invalid_client") {
      return new IdentityError(refused.code, `The workspace refused the ${action} (${err.error}): ${refused.hint}.`);
    }
    return new IdentityError(ErrorCodes.EXCHANGE_FAILED, `The workspace refused the ${action} (${err.error}).`);
  }
  if (err instanceof IdentityError) return err;
  return new IdentityError(ErrorCodes.EXCHANGE_FAILED, `The ${action} could not reach the workspace.`);
}

/** The `scope` of a token request. Never empty: an authorization server may read no scope as its default, all APIs. */
function scopeParameter(scopes: readonly string[]): string {
  if (scopes.length === 0)
    throw new PolicyError(
      ErrorCodes.TOOL_NOT_ALLOWED,
      "This caller may call no tool, so no workspace token is requested for it.",
    );
  return scopes.join(" ");
}

/** OAuth client credentials for a service principal. */
export async function clientCredentials(
  host: string,
  clientId: string,
  clientSecret: string,
  scopes: readonly string[],
): Promise<AccessToken> {
  const scope = scopeParameter(scopes);
  try {
    const config = await workspaceOAuthConfiguration(host, clientId, clientSecret);
    return toAccessToken(await oauth.clientCredentialsGrant(config, { scope }), scopes);
  } catch (err) {
    // Wrong client credentials are the operator's to fix, not a federation policy: a configuration error.
    throw mapOAuthError(err, "client credentials grant", {
      code: ErrorCodes.CONFIG_INVALID,
      hint: `check DATABRICKS_CLIENT_ID (${clientId.slice(0, 64)}) and DATABRICKS_CLIENT_SECRET for this workspace`,
    });
  }
}

/** RFC 8693: a federated JWT for a workspace token of the service principal `clientId` (no refresh token comes back). */
export async function exchangeToken(
  host: string,
  subjectToken: string,
  clientId: string,
  scopes: readonly string[],
): Promise<AccessToken> {
  const scope = scopeParameter(scopes);
  try {
    const config = await workspaceOAuthConfiguration(host, clientId);
    const response = await oauth.genericGrantRequest(config, TOKEN_EXCHANGE, {
      subject_token: subjectToken,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      client_id: clientId,
      scope,
    });
    return toAccessToken(response, scopes);
  } catch (err) {
    throw mapOAuthError(err, "token exchange");
  }
}

/** A fresh access token (and, when the workspace rotates them, a new refresh token) for a public client's login. */
export async function refreshUserToken(
  host: string,
  clientId: string,
  refreshToken: string,
): Promise<AccessToken & { refreshToken?: string }> {
  try {
    const config = await workspaceOAuthConfiguration(host, clientId);
    const response = await oauth.refreshTokenGrant(config, refreshToken);
    return {
      ...toAccessToken(response, []),
      ...(response.refresh_token ? { refreshToken: response.refresh_token } : {}),
    };
  } catch (err) {
    throw mapOAuthError(err, "refresh of the saved login", {
      code: ErrorCodes.TOKEN_EXPIRED,
      hint: "run `databricks-governed-mcp login` again",
    });
  }
}
