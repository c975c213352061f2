import { decodeJwt } from "jose";
import * as oauth from "openid-client";
import { ErrorCodes, IdentityError } from "../errors.js";
import type { AccessToken } from "./types.js";

const metadataByIssuer = new Map<string, Promise<oauth.ServerMetadata>>();

/** The IdP's discovery document (OpenID Connect, then RFC 8414), fetched once per issuer; a failure is retried later. */
export function discoverIdp(issuer: string): Promise<oauth.ServerMetadata> {
  let metadata = metadataByIssuer.get(issuer);
  if (!metadata) {
    metadata = (async () => {
      const base = issuer.replace(/\/$/, "");
      for (const path of ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]) {
        const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
        if (!res?.ok) continue;
        const doc = (await res.json()) as oauth.ServerMetadata;
        // The document must describe this exact issuer, or its endpoints cannot be trusted.
        if (doc.issuer === issuer) return doc;
      }
      throw new IdentityError(ErrorCodes.EXCHANGE_FAILED, `The identity provider ${issuer} could not be discovered.`);
    })().catch((err: unknown) => {
      metadataByIssuer.delete(issuer);
      throw err;
    });
    metadataByIssuer.set(issuer, metadata);
  }
  return metadata;
}

/** The issuer's JWKS URL from its discovery document. */
export async function discoverJwksUri(issuer: string): Promise<string> {
  const { jwks_uri } = await discoverIdp(issuer);
  if (!jwks_uri)
    throw new IdentityError(ErrorCodes.TOKEN_INVALID, `The identity provider ${issuer} publishes no JWKS.`);
  return jwks_uri;
}

/** OAuth client credentials at the IdP's discovered token endpoint: the subject token of a per-role IdP client. */
export async function idpClientCredentials(
  issuer: string,
  clientId: string,
  clientSecret: string,
): Promise<AccessToken> {
  try {
    const configuration = new oauth.Configuration(
      await discoverIdp(issuer),
      clientId,
      undefined,
      oauth.ClientSecretBasic(clientSecret),
    );
    if (new URL(issuer).protocol === "http:") oauth.allowInsecureRequests(configuration);
    const response = await oauth.clientCredentialsGrant(configuration);
    // The exchanged token inherits this token's `exp`, so the claim (not expires_in) is what the cache must track.
    const exp = decodeJwt(response.access_token).exp;
    return {
      accessToken: response.access_token,
      expiresAt: exp ?? Math.floor(Date.now() / 1000) + (response.expires_in ?? 300),
      scopes: response.scope ? response.scope.split(" ") : [],
    };
  } catch (err) {
    if (err instanceof IdentityError) throw err;
    const reason = err instanceof oauth.ResponseBodyError ? ` (${err.error})` : "";
    throw new IdentityError(
      ErrorCodes.EXCHANGE_FAILED,
      `The identity provider refused the client credentials of IdP client '${clientId}'${reason}.`,
    );
  }
}
