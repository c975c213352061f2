import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes, randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import type Provider from "oidc-provider";
import type { Seed } from "../seed/schema.js";
import { ACCESS_TOKEN_TTL_SECONDS, providerConfiguration } from "./configuration.js";
import { findDemoAccount } from "./demo-accounts.js";
import { handleInteraction, isInteractionPath } from "./login-page.js";
import { loadOidcProvider, withoutOidcProviderNotices } from "./load-oidc-provider.js";
import { IdpMemoryStore } from "./memory-adapter.js";
import { SigningKeyRing } from "./signing-keys.js";
import { ResourceServers } from "./resource-servers.js";
import { clientMetadataDocumentSettings, type ClientMetadataDocumentOptions } from "./client-metadata-documents.js";

export interface LocalIdp {
  /** e.g. http://127.0.0.1:PORT (exact string, no trailing slash). */
  issuer: string;
  jwksUri: string;
  /** Signs an RS256 access token directly with the current key: iss, sub, aud, iat, exp, jti, email, role, then overrides. */
  mintToken(claims: MintTokenClaims): Promise<string>;
  /** New signing key with a new kid; the old key stays in the JWKS for the grace period (or until revokeKey). */
  rotateKeys(): Promise<string>;
  /** Removes a key from the JWKS entirely (revocation); revoking the current key rotates first. */
  revokeKey(kid: string): Promise<void>;
  /** Makes the JWKS endpoint answer 503 (false) or recover (true). */
  setJwksAvailable(available: boolean): void;
  currentKid(): string;
  jwksFetchCount(): number;
  /** Makes a resource server known (RFC 8707): tokens asked for `resource` carry it as their audience. */
  registerResource(resource: string): void;
  close(): Promise<void>;
}

export interface MintTokenClaims {
  sub: string;
  role?: string;
  email?: string;
  aud?: string | string[];
  /** Lifetime from now; negative mints an already expired token. */
  ttlSeconds?: number;
  [claim: string]: unknown;
}

export interface LocalIdpOptions {
  /** Loopback only: 127.0.0.0/8, ::1 or localhost. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  seed: Seed;
  /** How long a rotated-out key stays published; default two hours (tokens live one). */
  keyGraceMs?: number;
  /** Client ID Metadata Documents; tests serve theirs through `testOnlyDocumentOrigin`. */
  clientMetadataDocuments?: ClientMetadataDocumentOptions;
}

/** Thrown by startLocalIdp for options it refuses. */
export class LocalIdpError extends Error {
  constructor(
    readonly code: "ERR_NOT_LOOPBACK",
    message: string,
  ) {
    super(message);
    this.name = "LocalIdpError";
  }
}

const JWKS_PATH = "/jwks";
/** RFC 8414 metadata, which MCP clients look for first; oidc-provider only serves the OIDC discovery document. */
const OAUTH_METADATA_PATH = "/.well-known/oauth-authorization-server";
const DEFAULT_KEY_GRACE_MS = 2 * 3600 * 1000;

/** Starts the local OIDC identity provider (oidc-provider) on loopback, seeded with the demo users and role clients. */
export async function startLocalIdp(options: LocalIdpOptions): Promise<LocalIdp> {
  if (!isLoopbackHost(options.host))
    throw new LocalIdpError("ERR_NOT_LOOPBACK", `The local IdP only listens on loopback, not on ${options.host}`);
  const { seed } = options;
  const oidc = await loadOidcProvider();
  const keys = await SigningKeyRing.create(options.keyGraceMs ?? DEFAULT_KEY_GRACE_MS);
  const store = new IdpMemoryStore();
  const resources = new ResourceServers(seed.workspace.federationAudience);
  const clientMetadataDocuments = clientMetadataDocumentSettings(options.clientMetadataDocuments ?? {}, oidc.errors);
  // Cookie keys outlive Provider rebuilds so a login in progress survives a key rotation.
  const cookieKeys = [randomBytes(32).toString("base64url")];

  const server = createServer();
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`;

  let provider!: Provider;
  let handleOidc!: (req: IncomingMessage, res: ServerResponse) => unknown;
  // oidc-provider reads its keys at construction, so a key change builds a new instance behind the same server.
  const buildProvider = async () => {
    const configuration = providerConfiguration({
      seed,
      keys: keys.published(),
      currentKid: keys.current().kid,
      adapter: store.adapterClass(),
      cookieKeys,
      errors: oidc.errors,
      resources,
      clientMetadataDocuments,
    });
    const next = await withoutOidcProviderNotices(() => new oidc.default(issuer, configuration));
    next.silent = true;
    provider = next;
    handleOidc = next.callback();
  };
  await buildProvider();

  let jwksAvailable = true;
  let jwksFetches = 0;

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const { pathname } = new URL(req.url ?? "/", issuer);
    const handled = (async () => {
      if (pathname === JWKS_PATH) {
        jwksFetches += 1;
        if (!jwksAvailable)
          return sendJson(res, 503, {
            error: "temporarily_unavailable",
            error_description: "The JWKS endpoint is unavailable.",
          });
        return sendJson(res, 200, keys.publicJwks(), "application/jwk-set+json; charset=utf-8");
      }
      if (isInteractionPath(pathname)) return handleInteraction(provider, seed, req, res, pathname);
      if (pathname === OAUTH_METADATA_PATH) req.url = "/.well-known/openid-configuration";
      return handleOidc(req, res);
    })();
    handled.catch(() => {
      // Never a stack trace on the wire: a generic OAuth error, or drop the connection if the answer had started.
      if (res.headersSent) res.destroy();
      else
        sendJson(res, 400, {
          error: "invalid_request",
          error_description: "The local IdP could not process this request.",
        });
    });
  });

  return {
    issuer,
    jwksUri: `${issuer}${JWKS_PATH}`,
    async mintToken(claims) {
      const { sub, role, email, aud, ttlSeconds, ...overrides } = claims;
      const key = keys.current();
      const account = findDemoAccount(seed, sub);
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: issuer,
        sub,
        aud: aud ?? seed.workspace.federationAudience,
        iat: now,
        exp: now + (ttlSeconds ?? ACCESS_TOKEN_TTL_SECONDS),
        jti: randomUUID(),
      };
      const resolvedEmail = email ?? account?.email;
      const resolvedRole = role ?? account?.role;
      if (resolvedEmail !== undefined) payload.email = resolvedEmail;
      if (resolvedRole !== undefined) payload.role = resolvedRole;
      return new SignJWT({ ...payload, ...overrides })
        .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "at+jwt" })
        .sign(key.privateKey);
    },
    async rotateKeys() {
      const fresh = await keys.rotate();
      await buildProvider();
      return fresh.kid;
    },
    async revokeKey(kid) {
      await keys.revoke(kid);
      await buildProvider();
    },
    setJwksAvailable(available) {
      jwksAvailable = available;
    },
    currentKid: () => keys.current().kid,
    jwksFetchCount: () => jwksFetches,
    registerResource: (resource) => resources.register(resource),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = "application/json; charset=utf-8",
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}
