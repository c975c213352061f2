import { createHash, randomBytes } from "node:crypto";
import type { WorkspaceContext } from "../context.js";
import { clientCredentialsOf } from "../http/client-auth.js";
import { OAuthError } from "../http/errors.js";
import { readForm, sendJson, type Router } from "../http/router.js";
import { Scopes } from "../principal.js";
import { matchFederation } from "./federation.js";
import type { WorkspaceTokens } from "./tokens.js";
import { WorkspaceUserGrants, redirectAllowed } from "./user-grants.js";

const KNOWN_SCOPES = new Set<string>([...Object.values(Scopes), "openid", "email", "profile"]);
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt";
const HOUR = 3600;

interface PendingCode {
  user: string;
  clientId: string;
  redirectUri: string;
  challenge: string;
  scopes: string[];
  expiresAt: number;
}

function parseScopes(raw: string | null): string[] {
  const scopes = (raw ?? "all-apis").split(/\s+/).filter(Boolean);
  const unknown = scopes.find((s) => !KNOWN_SCOPES.has(s));
  if (unknown) throw new OAuthError(400, "invalid_scope", `Unknown scope: ${unknown.slice(0, 64)}`);
  return scopes;
}

function isLoopbackRedirect(uri: string): boolean {
  try {
    const u = new URL(uri);
    return u.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
  } catch {
    return false;
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The workspace's OAuth server: discovery, JWKS, client credentials, token exchange, PKCE login, refresh. */
export function registerOidcRoutes(router: Router, ctx: WorkspaceContext, tokens: WorkspaceTokens): void {
  const codes = new Map<string, PendingCode>();
  const grants = (ctx.userGrants ??= new WorkspaceUserGrants());
  const appConnection = (clientId: string | undefined) =>
    ctx.seed.workspace.appConnections.find((connection) => connection.clientId === clientId);
  /** An app connection authenticates with its secret; a public client has none to give. */
  const authenticateClient = (client: { id?: string; secret?: string }) => {
    const connection = appConnection(client.id);
    if (connection && client.secret !== connection.clientSecret)
      throw new OAuthError(401, "invalid_client", "Client authentication failed.");
  };

  const metadata = () => ({
    issuer: `${ctx.baseUrl}/oidc`,
    authorization_endpoint: `${ctx.baseUrl}/oidc/v1/authorize`,
    token_endpoint: `${ctx.baseUrl}/oidc/v1/token`,
    jwks_uri: `${ctx.baseUrl}/oidc/v1/keys`,
    grant_types_supported: ["client_credentials", "authorization_code", "refresh_token", TOKEN_EXCHANGE],
    response_types_supported: ["code"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "none"],
    scopes_supported: [...KNOWN_SCOPES],
  });
  router.add("GET", "/oidc/.well-known/oauth-authorization-server", ({ res }) => sendJson(res, 200, metadata()));
  router.add("GET", "/oidc/.well-known/openid-configuration", ({ res }) => sendJson(res, 200, metadata()));
  router.add("GET", "/oidc/v1/keys", ({ res }) => {
    ctx.counters.jwksFetches += 1;
    sendJson(res, 200, tokens.jwks());
  });

  router.add("GET", "/oidc/v1/authorize", ({ res, url }) => {
    const q = url.searchParams;
    const clientId = q.get("client_id") ?? "";
    const redirectUri = q.get("redirect_uri") ?? "";
    const connection = appConnection(clientId);
    if (!connection && !ctx.seed.workspace.publicClients.includes(clientId))
      throw new OAuthError(400, "invalid_client", "Unknown client_id.");
    if (connection ? !redirectAllowed(connection, redirectUri) : !isLoopbackRedirect(redirectUri))
      throw new OAuthError(400, "invalid_request", "redirect_uri is not registered for this client.");
    if (q.get("response_type") !== "code")
      throw new OAuthError(400, "unsupported_response_type", "response_type must be code.");
    if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) {
      throw new OAuthError(400, "invalid_request", "PKCE with code_challenge_method=S256 is required.");
    }
    const scopes = parseScopes(q.get("scope"));
    const chosen = q.get("user");
    if (chosen) {
      const user = ctx.directory.userByName(chosen);
      if (!user) throw new OAuthError(400, "invalid_request", "Unknown user.");
      const code = randomBytes(24).toString("base64url");
      codes.set(code, {
        user: user.userName,
        clientId,
        redirectUri,
        challenge: q.get("code_challenge")!,
        scopes,
        expiresAt: Date.now() + 60_000,
      });
      const target = new URL(redirectUri);
      target.searchParams.set("code", code);
      if (q.get("state")) target.searchParams.set("state", q.get("state")!);
      res.writeHead(302, { location: target.toString() }).end();
      return;
    }
    const links = ctx.seed.users
      .map((u) => {
        const next = new URL(url.toString());
        next.searchParams.set("user", u.userName);
        return `<li><a href="${escapeHtml(next.pathname + next.search)}">${escapeHtml(u.displayName)} &lt;${escapeHtml(u.userName)}&gt;</a></li>`;
      })
      .join("");
    const html = `<!doctype html><html><head><title>Local workspace login</title></head><body><h1>Sign in to the local workspace</h1><p>Demo users (no password):</p><ul>${links}</ul></body></html>`;
    res
      .writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": "default-src 'none'" })
      .end(html);
  });

  router.add("POST", "/oidc/v1/token", async ({ req, res }) => {
    const form = await readForm(req);
    const grantType = form.get("grant_type");
    const client = clientCredentialsOf(req.headers.authorization, form);
    switch (grantType) {
      case "client_credentials": {
        const sp = client.id ? ctx.directory.servicePrincipal(client.id) : undefined;
        ctx.counters.countToken("client_credentials", client.id ?? "(none)");
        if (!sp || client.secret !== sp.secret)
          throw new OAuthError(401, "invalid_client", "Client authentication failed.");
        const scopes = parseScopes(form.get("scope"));
        sendJson(
          res,
          200,
          { ...(await tokens.issue(sp.applicationId, scopes, HOUR, sp.applicationId)), token_type: "Bearer" },
          { "cache-control": "no-store" },
        );
        return;
      }
      case TOKEN_EXCHANGE: {
        const subjectToken = form.get("subject_token");
        if (!subjectToken) throw new OAuthError(400, "invalid_request", "subject_token is required.");
        if (form.get("subject_token_type") !== JWT_TOKEN_TYPE)
          throw new OAuthError(400, "invalid_request", `subject_token_type must be ${JWT_TOKEN_TYPE}.`);
        const scopes = parseScopes(form.get("scope"));
        const match = await matchFederation(subjectToken, form.get("client_id") ?? undefined, ctx);
        ctx.counters.countToken("token_exchange", match.principal);
        const ttl = Math.min(HOUR, match.exp - Math.floor(Date.now() / 1000));
        if (ttl <= 0) throw new OAuthError(400, "invalid_grant", "The subject token has expired.");
        const issued = await tokens.issue(match.principal, scopes, ttl, form.get("client_id") ?? "account-federation");
        sendJson(
          res,
          200,
          { ...issued, token_type: "Bearer", issued_token_type: "urn:ietf:params:oauth:token-type:access_token" },
          { "cache-control": "no-store" },
        );
        return;
      }
      case "authorization_code": {
        const code = codes.get(form.get("code") ?? "");
        codes.delete(form.get("code") ?? "");
        ctx.counters.countToken("authorization_code", code?.user ?? "(none)");
        if (!code || code.expiresAt < Date.now())
          throw new OAuthError(400, "invalid_grant", "The authorization code is invalid, expired or already used.");
        if (code.clientId !== (client.id ?? "") || code.redirectUri !== form.get("redirect_uri")) {
          throw new OAuthError(
            400,
            "invalid_grant",
            "client_id or redirect_uri does not match the authorization request.",
          );
        }
        authenticateClient(client);
        const verifier = form.get("code_verifier") ?? "";
        if (createHash("sha256").update(verifier).digest("base64url") !== code.challenge)
          throw new OAuthError(400, "invalid_grant", "PKCE verification failed.");
        const refresh_token = grants.issueRefreshToken({
          user: code.user,
          clientId: code.clientId,
          scopes: code.scopes,
        });
        sendJson(
          res,
          200,
          { ...(await tokens.issue(code.user, code.scopes, HOUR, code.clientId)), token_type: "Bearer", refresh_token },
          { "cache-control": "no-store" },
        );
        return;
      }
      case "refresh_token": {
        const presented = form.get("refresh_token") ?? "";
        const held = grants.peek(presented);
        // An app connection's refresh token is redeemed only by that connection, with its secret.
        if (held && appConnection(held.clientId) && client.id !== held.clientId)
          throw new OAuthError(401, "invalid_client", "Client authentication failed.");
        authenticateClient(client);
        const grant = grants.redeem(presented);
        ctx.counters.countToken("refresh_token", grant?.user ?? "(none)");
        if (!grant || grant.clientId !== (client.id ?? grant.clientId))
          throw new OAuthError(400, "invalid_grant", "The refresh token is invalid.");
        const refresh_token = grants.issueRefreshToken(grant);
        sendJson(
          res,
          200,
          {
            ...(await tokens.issue(grant.user, grant.scopes, HOUR, grant.clientId)),
            token_type: "Bearer",
            refresh_token,
          },
          { "cache-control": "no-store" },
        );
        return;
      }
      default:
        throw new OAuthError(400, "unsupported_grant_type", "grant_type is missing or not supported.");
    }
  });
}
