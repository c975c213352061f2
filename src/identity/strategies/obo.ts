import type { JWTPayload } from "jose";
import type { Config } from "../../config/schema.js";
import { ErrorCodes, IdentityError } from "../../errors.js";
import { bearerOf } from "../bearer.js";
import { createJwtVerifier, verifierLimits } from "../jwt-verifier.js";
import type { AccessToken, CredentialStrategy, InboundRequest, ResolvedCaller } from "../types.js";

export type OboStrategy = CredentialStrategy & { issuer: string };

/** True when the workspace issued the token to `audience`: its OAuth client (`client_id`) or one of its `aud`. */
function issuedFor(payload: JWTPayload, audience: string): boolean {
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  return payload.client_id === audience || aud.includes(audience);
}

/** OBO: the human's own workspace token — from the Databricks Apps proxy header when trusted, or a workspace bearer. */
export function createOboStrategy(config: Config, options: { now?: () => number } = {}): OboStrategy {
  const host = config.workspace.host!;
  const verify = createJwtVerifier({
    issuer: `${host}/oidc`,
    jwksUri: `${host}/oidc/v1/keys`,
    algorithms: ["RS256"],
    ...verifierLimits(config, options.now),
  });
  return {
    mode: "obo",
    issuer: `${host}/oidc`,
    accepts: (request) => Boolean(request.headers["x-forwarded-access-token"] || bearerOf(request.headers)),
    async resolve(request: InboundRequest): Promise<ResolvedCaller> {
      const proxied = request.headers["x-forwarded-access-token"];
      if (proxied !== undefined && !config.identity.obo.trustProxyHeader) {
        throw new IdentityError(
          ErrorCodes.PROXY_HEADER_UNTRUSTED,
          "x-forwarded-access-token is only accepted behind the Databricks Apps proxy.",
        );
      }
      const token = proxied ?? bearerOf(request.headers);
      if (!token) throw new IdentityError(ErrorCodes.UNAUTHENTICATED, "No user token on the request.");
      const { payload } = await verify(token);
      const { audience } = config.identity.obo;
      if (audience !== undefined && !issuedFor(payload, audience))
        throw new IdentityError(
          ErrorCodes.TOKEN_INVALID,
          "The workspace token was issued to another OAuth client; sign in through this server's client.",
        );
      const human = typeof payload.email === "string" ? payload.email : String(payload.sub);
      const scopes = typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : [];
      const accessToken: AccessToken = { accessToken: token, expiresAt: payload.exp!, scopes };
      return {
        identity: {
          mode: "obo",
          source: proxied !== undefined ? "proxy-header" : "bearer",
          human,
          expectedPrincipal: human,
          scopes,
          inboundExpiresAt: payload.exp,
        },
        credential: {
          token: async (options) => {
            // The user's own token cannot be refreshed here: a 401 means the caller must sign in again.
            if (options?.forceRefresh || accessToken.expiresAt <= Date.now() / 1000)
              throw new IdentityError(ErrorCodes.TOKEN_EXPIRED, "The user's token has expired; sign in again.");
            return accessToken;
          },
          current: () => (accessToken.expiresAt > Date.now() / 1000 ? accessToken : undefined),
        },
      };
    },
  };
}
