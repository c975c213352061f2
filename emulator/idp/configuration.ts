import type { errors as OidcErrors, TokenLike } from "oidc-provider";
import type { Seed } from "../seed/schema.js";
import { findDemoAccount, roleOfIdpClient } from "./demo-accounts.js";
import type { SigningKey } from "./signing-keys.js";

/** Public clients (no secret, PKCE) that MCP clients and the inspector can use without registering. */
export const PUBLIC_CLIENT_IDS = ["mcp-inspector", "databricks-governed-mcp-client"] as const;

/** Access tokens and client-credentials tokens live one hour, like the IdPs this stands in for. */
export const ACCESS_TOKEN_TTL_SECONDS = 3600;

/** Native clients may use these on any port (RFC 8252 §7.3); oidc-provider ignores the port of loopback URIs. */
const LOOPBACK_REDIRECT_URIS = ["127.0.0.1", "localhost", "[::1]"].flatMap((host) =>
  ["/callback", "/oauth/callback", "/oauth/callback/debug", "/"].map((path) => `http://${host}${path}`),
);
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** Extra client property whose validator lets oidc-provider check every registration's redirect URIs. */
const LOOPBACK_CHECK_PROPERTY = "loopback_redirects_only";

export interface IdpConfigurationInput {
  seed: Seed;
  /** Published keys, current first (oidc-provider signs ID tokens with the first RS256 key). */
  keys: SigningKey[];
  currentKid: string;
  adapter: unknown;
  cookieKeys: string[];
  /** oidc-provider's error classes, passed in because the module is imported lazily (see load-oidc-provider.ts). */
  errors: typeof OidcErrors;
}

/** oidc-provider resource indicators must be absolute URIs; a bare audience such as "databricks-governed-mcp" becomes a URN. */
export function resourceIndicatorFor(audience: string): string {
  return URL.canParse(audience) ? audience : `urn:${encodeURIComponent(audience)}`;
}

/** The oidc-provider configuration of the local IdP: seed clients and accounts, JWT access tokens for one audience. */
export function providerConfiguration(input: IdpConfigurationInput): Record<string, unknown> {
  const { seed } = input;
  const audience = seed.workspace.federationAudience;
  const defaultResource = resourceIndicatorFor(audience);

  return {
    adapter: input.adapter,
    clients: [
      ...seed.idpClients.map((client) => ({
        client_id: client.clientId,
        client_secret: client.clientSecret,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: "client_secret_basic",
      })),
      ...PUBLIC_CLIENT_IDS.map((clientId) => ({
        client_id: clientId,
        application_type: "native",
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        redirect_uris: LOOPBACK_REDIRECT_URIS,
      })),
    ],
    clientDefaults: {
      id_token_signed_response_alg: "RS256",
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
    jwks: { keys: input.keys.map((key) => key.privateJwk) },
    cookies: { keys: input.cookieKeys },
    responseTypes: ["code", "none"],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"], role: ["role"] },
    scopes: ["openid", "offline_access", "email", "profile", "role"],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      registration: { enabled: true },
      rpInitiatedLogout: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string | string[]) =>
          Array.isArray(oneOf) ? oneOf[0] : (oneOf ?? defaultResource),
        useGrantedResource: async () => true,
        // Every resource (the URN above or an MCP server URL a client sends) gets the one federation audience.
        getResourceServerInfo: async () => ({
          audience,
          scope: "mcp",
          accessTokenFormat: "jwt",
          accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
          jwt: { sign: { alg: "RS256", kid: input.currentKid } },
        }),
      },
    },
    extraClientMetadata: {
      properties: [LOOPBACK_CHECK_PROPERTY],
      validator: (_ctx: unknown, key: string, _value: unknown, metadata: { redirect_uris?: string[] }) => {
        if (key !== LOOPBACK_CHECK_PROPERTY) return;
        for (const uri of metadata.redirect_uris ?? []) {
          if (!LOOPBACK_HOSTS.has(URL.parse(uri)?.hostname ?? "")) {
            throw new input.errors.InvalidClientMetadata(
              "redirect_uris must use a loopback host (127.0.0.1, localhost or [::1])",
            );
          }
        }
      },
    },
    extraTokenClaims: async (_ctx: unknown, token: TokenLike) => {
      if (token.kind === "ClientCredentials") {
        const role = token.clientId === undefined ? undefined : roleOfIdpClient(seed, token.clientId);
        return role === undefined ? undefined : { role };
      }
      const account = token.accountId === undefined ? undefined : findDemoAccount(seed, token.accountId);
      if (account === undefined) return undefined;
      return { email: account.email, ...(account.role === undefined ? {} : { role: account.role }) };
    },
    findAccount: async (_ctx: unknown, sub: string) => {
      const account = findDemoAccount(seed, sub);
      if (account === undefined) return undefined;
      return {
        accountId: account.subject,
        claims: async () => ({
          sub: account.subject,
          email: account.email,
          email_verified: true,
          name: account.displayName,
          ...(account.role === undefined ? {} : { role: account.role }),
        }),
      };
    },
    interactions: { url: async (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    clientBasedCORS: (_ctx: unknown, origin: string) => LOOPBACK_HOSTS.has(URL.parse(origin)?.hostname ?? ""),
    renderError: async (ctx: { type: string; body: unknown }, out: Record<string, string>) => {
      ctx.type = "html";
      ctx.body = `<!doctype html><title>Local IdP error</title><h1>Local IdP error</h1><pre>${escapeHtml(out.error ?? "")}: ${escapeHtml(out.error_description ?? "")}</pre>`;
    },
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL_SECONDS,
      ClientCredentials: ACCESS_TOKEN_TTL_SECONDS,
      AuthorizationCode: 60,
      IdToken: ACCESS_TOKEN_TTL_SECONDS,
      RefreshToken: 24 * 3600,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 24 * 3600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
    },
  };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
