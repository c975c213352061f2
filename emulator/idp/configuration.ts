import type { errors as OidcErrors, TokenLike } from "oidc-provider";
import type { Seed } from "../seed/schema.js";
import { findDemoAccount, roleOfIdpClient } from "./demo-accounts.js";
import type { SigningKey } from "./signing-keys.js";
import type { ResourceServers } from "./resource-servers.js";

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
  /** The resources tokens may be asked for (RFC 8707); anything else is invalid_target. */
  resources: ResourceServers;
  /** Client ID Metadata Documents: the feature's settings and the fetch it uses (client-metadata-documents.ts). */
  clientMetadataDocuments: { feature: Record<string, unknown>; fetch: unknown };
}

/** The oidc-provider configuration of the local IdP: seed clients and accounts, JWT access tokens for the resource asked for. */
export function providerConfiguration(input: IdpConfigurationInput): Record<string, unknown> {
  const { seed } = input;
  const { resources } = input;

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
    // Every refresh rotates, and a rotated-out token presented again revokes the whole grant (OAuth 2.1 §4.3.1).
    rotateRefreshToken: () => true,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      registration: { enabled: true },
      rpInitiatedLogout: { enabled: false },
      clientIdMetadataDocument: input.clientMetadataDocuments.feature,
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string | string[]) =>
          Array.isArray(oneOf) ? oneOf[0] : (oneOf ?? resources.defaultResource),
        useGrantedResource: async () => true,
        // A token is for the one resource asked for, and says so in `aud`; a resource the IdP does not know is refused.
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          const audience = resources.audienceOf(resource);
          if (audience === undefined) throw new input.errors.InvalidTarget("this resource is unknown to the local IdP");
          return {
            audience,
            scope: "mcp",
            accessTokenFormat: "jwt",
            accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
            jwt: { sign: { alg: "RS256", kid: input.currentKid } },
          };
        },
      },
    },
    fetch: input.clientMetadataDocuments.fetch,
    extraClientMetadata: {
      properties: [LOOPBACK_CHECK_PROPERTY],
      validator: (
        _ctx: unknown,
        key: string,
        _value: unknown,
        metadata: { client_id?: string; redirect_uris?: string[] },
      ) => {
        if (key !== LOOPBACK_CHECK_PROPERTY) return;
        // A metadata-document client may also return to https on its own origin (claude.ai, vscode.dev).
        const documentOrigin = metadataDocumentOrigin(metadata.client_id);
        for (const uri of metadata.redirect_uris ?? []) {
          const url = URL.parse(uri);
          if (LOOPBACK_HOSTS.has(url?.hostname ?? "")) continue;
          if (documentOrigin !== undefined && url?.protocol === "https:" && url.origin === documentOrigin) continue;
          throw new input.errors.InvalidClientMetadata(
            "redirect_uris must use a loopback host (127.0.0.1, localhost or [::1]) or the client_id's own https origin",
          );
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

/** The origin of an https client_id (a metadata-document client); undefined for registered clients' opaque ids. */
function metadataDocumentOrigin(clientId: string | undefined): string | undefined {
  const url = clientId === undefined ? null : URL.parse(clientId);
  return url?.protocol === "https:" ? url.origin : undefined;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
