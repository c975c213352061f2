import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from "jose";
import { clientCredentialsOf } from "../http/client-auth.js";
import { readForm } from "../http/router.js";
import { Aadsts, AadstsError } from "./aadsts.js";

/** The application id of the Azure Databricks resource in every Entra tenant. */
export const AZURE_DATABRICKS_RESOURCE_ID = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TOKEN_TTL_S = 3600;

export interface EntraClient {
  clientId: string;
  clientSecret: string;
}

export interface EntraLikeIssuerOptions {
  /** Loopback only. */
  host: string;
  port: number;
  tenantId?: string;
  /** Confidential clients (app registrations) that may ask for tokens on behalf of users. */
  clients: EntraClient[];
}

export interface EntraLikeIssuer {
  tenantId: string;
  /** `iss` of the v2.0 tokens users bring to an API (`{authority}/{tenant}/v2.0`). */
  issuer: string;
  /** `iss` of the v1.0 tokens issued for Azure Databricks, as `https://sts.windows.net/{tenant}/` is for a tenant. */
  resourceIssuer: string;
  jwksUri: string;
  tokenEndpoint: string;
  /** A user's v2.0 access token for the API `audience` (a client id), as a sign-in at that tenant would give. */
  userToken(claims: { user: string; audience: string; ttlSeconds?: number; [claim: string]: unknown }): Promise<string>;
  /** On-behalf-of tokens issued so far, per user. */
  onBehalfOfCount(user: string): number;
  close(): Promise<void>;
}

/**
 * A local issuer shaped like the Microsoft identity platform for one tenant: OIDC discovery, JWKS, and the v2.0 token
 * endpoint's OAuth 2.0 on-behalf-of grant (jwt-bearer with requested_token_use=on_behalf_of), answering errors with
 * AADSTS codes. The on-behalf-of token is a v1.0 token for the resource asked for (Azure Databricks), naming the user.
 */
export async function startEntraLikeIssuer(options: EntraLikeIssuerOptions): Promise<EntraLikeIssuer> {
  if (!/^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|::1)$/.test(options.host))
    throw new Error(`The Entra-like issuer only listens on loopback, not on ${options.host}`);
  const tenantId = options.tenantId ?? randomUUID();
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: randomUUID(), alg: "RS256", use: "sig" };
  const clients = new Map(options.clients.map((c) => [c.clientId, c]));
  const issued = new Map<string, number>();

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const origin = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${(server.address() as AddressInfo).port}`;
  const authority = `${origin}/${tenantId}`;
  const issuer = `${authority}/v2.0`;
  const resourceIssuer = `${authority}/`;
  const jwksUri = `${authority}/discovery/v2.0/keys`;
  const tokenEndpoint = `${authority}/oauth2/v2.0/token`;

  const sign = (claims: Record<string, unknown>, iss: string, aud: string, ttlSeconds: number) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: jwk.kid!, typ: "JWT" })
      .setIssuer(iss)
      .setAudience(aud)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttlSeconds)
      .sign(privateKey as CryptoKey);
  };

  /** The on-behalf-of grant: the calling app authenticates, the assertion must be a live token issued to that app. */
  async function onBehalfOf(form: URLSearchParams, authorization: string | undefined) {
    const { id, secret } = clientCredentialsOf(authorization, form);
    for (const name of ["client_id", "assertion", "scope", "requested_token_use"] as const) {
      const present = name === "client_id" ? id : form.get(name);
      if (!present) throw Aadsts.missingParameter(name);
    }
    if (form.get("requested_token_use") !== "on_behalf_of") throw Aadsts.badRequestedTokenUse();
    const client = clients.get(id!);
    if (!client) throw Aadsts.unknownClient(id!);
    if (secret !== client.clientSecret) throw Aadsts.badSecret(id!);
    let assertion;
    try {
      ({ payload: assertion } = await jwtVerify(form.get("assertion")!, jwk, { issuer, algorithms: ["RS256"] }));
    } catch (err) {
      if ((err as { code?: string }).code === "ERR_JWT_EXPIRED") throw Aadsts.assertionExpired();
      throw Aadsts.badAssertion();
    }
    const audiences = Array.isArray(assertion.aud) ? assertion.aud : [String(assertion.aud)];
    if (!audiences.some((aud) => aud === id || aud === `api://${id}`))
      throw Aadsts.assertionAudience(audiences.join(","), id!);
    const resource = form
      .get("scope")!
      .split(" ")
      .find((s) => s.endsWith("/.default"))
      ?.replace(/\/\.default$/, "");
    if (resource !== AZURE_DATABRICKS_RESOURCE_ID) throw Aadsts.unknownResource(resource ?? form.get("scope")!);
    const user = String(assertion.preferred_username ?? assertion.upn ?? "");
    issued.set(user, (issued.get(user) ?? 0) + 1);
    const access_token = await sign(
      {
        ver: "1.0",
        tid: tenantId,
        oid: assertion.oid,
        sub: assertion.oid,
        upn: user,
        unique_name: user,
        name: assertion.name,
        appid: id,
        scp: "user_impersonation",
      },
      resourceIssuer,
      AZURE_DATABRICKS_RESOURCE_ID,
      TOKEN_TTL_S,
    );
    return {
      token_type: "Bearer",
      scope: `${AZURE_DATABRICKS_RESOURCE_ID}/user_impersonation`,
      expires_in: TOKEN_TTL_S,
      ext_expires_in: TOKEN_TTL_S,
      access_token,
    };
  }

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const { pathname } = new URL(req.url ?? "/", origin);
    void (async () => {
      try {
        if (req.method === "GET" && pathname === `/${tenantId}/v2.0/.well-known/openid-configuration`)
          return send(res, 200, {
            issuer,
            authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
            token_endpoint: tokenEndpoint,
            jwks_uri: jwksUri,
            response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
            subject_types_supported: ["pairwise"],
            id_token_signing_alg_values_supported: ["RS256"],
            token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            tenant_region_scope: null,
          });
        if (req.method === "GET" && pathname === `/${tenantId}/discovery/v2.0/keys`)
          return send(res, 200, { keys: [{ ...jwk, x5t: jwk.kid }] });
        if (req.method === "POST" && pathname === `/${tenantId}/oauth2/v2.0/token`) {
          const form = await readForm(req);
          if (form.get("grant_type") !== JWT_BEARER) throw Aadsts.unsupportedGrant();
          return send(res, 200, await onBehalfOf(form, req.headers.authorization));
        }
        send(res, 404, { error: "not_found" });
      } catch (err) {
        if (err instanceof AadstsError) return send(res, err.status, err.body(new Date()));
        send(res, 400, {
          error: "invalid_request",
          error_description: "AADSTS90014: The request could not be processed.",
        });
      }
    })();
  });

  return {
    tenantId,
    issuer,
    resourceIssuer,
    jwksUri,
    tokenEndpoint,
    userToken({ user, audience, ttlSeconds, ...claims }) {
      return sign(
        {
          ver: "2.0",
          tid: tenantId,
          oid: randomUUID(),
          // Entra's `sub` is pairwise (per user and app); any stable opaque string stands for it here.
          sub: Buffer.from(`${user}|${audience}`).toString("base64url"),
          preferred_username: user,
          name: user,
          scp: "access_as_user",
          ...claims,
        },
        issuer,
        audience,
        ttlSeconds ?? TOKEN_TTL_S,
      );
    },
    onBehalfOfCount: (user) => issued.get(user) ?? 0,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}
