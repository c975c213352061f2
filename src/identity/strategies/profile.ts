import { ErrorCodes, IdentityError } from "../../errors.js";
import type { DatabricksProfile } from "../databricks-profile.js";
import type { TokenCache } from "../token-cache.js";
import type { CredentialStrategy } from "../types.js";
import type { LoginCache } from "../u2m/login-cache.js";
import { createClientCredentialsStrategy } from "./m2m.js";
import { createPatStrategy } from "./pat.js";
import { createU2MStrategy } from "./u2m.js";

const U2M_AUTH_TYPES = new Set(["external-browser", "databricks-cli", "u2m"]);

/**
 * A ~/.databrickscfg profile (stdio only): its token (PAT), its service principal (M2M), or, for
 * `auth_type = external-browser`, the saved login. A profile for another host is refused: its secret never
 * travels to a workspace it was not issued for.
 */
export function createProfileStrategy(options: {
  profile: DatabricksProfile;
  host: string;
  scopes: readonly string[];
  cache: TokenCache;
  loginCache: LoginCache;
  refreshMarginS: number;
}): CredentialStrategy {
  const { profile, host } = options;
  if (profile.host && profile.host.replace(/\/+$/, "") !== host.replace(/\/+$/, ""))
    throw new IdentityError(
      ErrorCodes.UNAUTHENTICATED,
      `Profile [${profile.name}] is for ${profile.host}, but the server is configured for ${host}.`,
    );
  const authType = profile.authType;
  if (authType === "pat" || (authType === undefined && profile.token)) {
    if (!profile.token) throw new IdentityError(ErrorCodes.UNAUTHENTICATED, `Profile [${profile.name}] has no token.`);
    return createPatStrategy(profile.token, "profile");
  }
  if (authType === "oauth-m2m" || (authType === undefined && profile.clientId && profile.clientSecret))
    return createClientCredentialsStrategy({
      host,
      clientId: profile.clientId,
      clientSecret: profile.clientSecret,
      scopes: options.scopes,
      cache: options.cache,
      source: "profile",
    });
  if (authType !== undefined && U2M_AUTH_TYPES.has(authType))
    return createU2MStrategy({
      host,
      loginCache: options.loginCache,
      cache: options.cache,
      refreshMarginS: options.refreshMarginS,
    });
  throw new IdentityError(
    ErrorCodes.UNAUTHENTICATED,
    `Profile [${profile.name}] has no usable credential: give token, client_id and client_secret, or auth_type = external-browser.`,
  );
}
