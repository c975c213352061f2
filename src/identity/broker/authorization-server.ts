import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Clock } from "../../clock.js";
import type { BrokerConfig } from "../../config/broker-schema.js";
import { GovernedError } from "../../errors.js";
import { BrokerTokens, digestOf, randomSecret } from "./broker-tokens.js";
import { ClientRegistrationError, type ClientRegistry } from "./client-registry.js";
import type { AttemptKind, BrokerEndpoint, EndpointGuard } from "./endpoint-guard.js";
import type { SealedRecords } from "./sealed-records.js";
import type { UserGrants } from "./user-grants.js";
import { workspaceTokenRequest } from "./workspace-grants.js";

/** An MCP client's authorization request, kept while the user signs in at the workspace. */
interface PendingSignIn {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  state?: string;
  workspaceVerifier: string;
}

/** What the server's authorization code (or refresh token) stands for. */
interface IssuedGrant {
  grantId: string;
  user: string;
  clientId: string;
  redirectUri?: string;
  codeChallenge?: string;
}

const SIGN_IN_TTL_MS = 10 * 60_000;
const CODE_TTL_MS = 60_000;
const MAX_FORM_BYTES = 16 * 1024;
const s256 = (verifier: string) => createHash("sha256").update(verifier).digest("base64url");

class OAuthRefusal extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
  }
}

export interface AuthorizationServerDeps {
  broker: BrokerConfig;
  workspaceHost: string;
  tokens: BrokerTokens;
  clients: ClientRegistry;
  records: SealedRecords;
  userGrants: UserGrants;
  clock: Clock;
  logger: Logger;
  /** Rate limits per source, and the audit and log of every refusal. */
  guard: EndpointGuard;
}

/** The endpoint each route is, and the budget it spends per source (the callback too: forged states cost a lookup). */
const ROUTES: Record<string, { endpoint: BrokerEndpoint; spends?: AttemptKind }> = {
  "POST /oauth/register": { endpoint: "oauth.register", spends: "registration" },
  "GET /oauth/authorize": { endpoint: "oauth.authorize", spends: "attempt" },
  "GET /oauth/databricks/callback": { endpoint: "oauth.callback", spends: "attempt" },
  "POST /oauth/token": { endpoint: "oauth.token", spends: "attempt" },
  "POST /oauth/revoke": { endpoint: "oauth.revoke", spends: "attempt" },
};

/** Answers an OAuth refusal by redirect; the caller audits it first. */
type RedirectRefusal = (error: string, description?: string) => Promise<void>;

/**
 * The server as the authorization server of its MCP clients (the MCP specification's third-party authorization flow):
 * metadata, registration, PKCE authorization that sends the user on to sign in at the workspace through the server's
 * app connection, and a token endpoint issuing the server's own tokens (refresh tokens rotated). The user's workspace
 * tokens stay sealed server-side. Returns a request handler that answers its paths and false for any other.
 */
export function createAuthorizationServer(deps: AuthorizationServerDeps) {
  const { tokens, records, clock } = deps;
  const issuer = tokens.issuer;
  const callbackUrl = `${issuer}/oauth/databricks/callback`;
  const metadata = {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    registration_endpoint: `${issuer}/oauth/register`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none"],
    revocation_endpoint_auth_methods_supported: ["none"],
    client_id_metadata_document_supported: true,
    authorization_response_iss_parameter_supported: true,
  };

  async function authorize(url: URL, res: ServerResponse, refused: (error: string) => Promise<void>): Promise<void> {
    const q = url.searchParams;
    const client = await deps.clients.find(q.get("client_id") ?? "");
    const redirectUri = q.get("redirect_uri") ?? "";
    // Never redirect to an address the client did not register: errors before this point are shown, not sent.
    if (!client) throw new OAuthRefusal(400, "invalid_client", "Unknown client_id.");
    if (!client.redirectUris.includes(redirectUri))
      throw new OAuthRefusal(400, "invalid_request", "redirect_uri is not registered for this client.");
    const back: RedirectRefusal = async (error, description) => {
      await refused(error);
      redirect(res, redirectUri, {
        error,
        ...(description ? { error_description: description } : {}),
        iss: issuer,
        ...stateOf(q),
      });
    };
    if (q.get("response_type") !== "code") return back("unsupported_response_type");
    if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge"))
      return back("invalid_request", "PKCE with S256 is required.");
    const resource = q.get("resource");
    if (resource !== null && resource !== tokens.resource)
      return back("invalid_target", "This server issues tokens only for its own resource.");
    const workspaceState = randomSecret();
    const pending: PendingSignIn = {
      clientId: client.clientId,
      redirectUri,
      codeChallenge: q.get("code_challenge")!,
      ...(q.get("state") === null ? {} : { state: q.get("state")! }),
      workspaceVerifier: randomSecret(),
    };
    await records.put(`sign-in:${digestOf(workspaceState)}`, pending, clock.now() + SIGN_IN_TTL_MS);
    redirect(res, `${deps.workspaceHost}/oidc/v1/authorize`, {
      client_id: deps.broker.clientId,
      redirect_uri: callbackUrl,
      response_type: "code",
      scope: deps.broker.scopes.join(" "),
      code_challenge: s256(pending.workspaceVerifier),
      code_challenge_method: "S256",
      state: workspaceState,
    });
  }

  /** The workspace sent the user back: redeem its code with the app connection's secret, keep the tokens sealed. */
  async function callback(url: URL, res: ServerResponse, refused: (error: string) => Promise<void>): Promise<void> {
    const q = url.searchParams;
    const pending = await records.take<PendingSignIn>(`sign-in:${digestOf(q.get("state") ?? "")}`);
    if (!pending) throw new OAuthRefusal(400, "invalid_request", "Unknown or expired sign-in; start again.");
    const back = (params: Record<string, string>) =>
      redirect(res, pending.redirectUri, {
        ...params,
        iss: issuer,
        ...(pending.state ? { state: pending.state } : {}),
      });
    if (!q.get("code")) {
      const error = q.get("error") === "access_denied" ? "access_denied" : "server_error";
      await refused(error);
      return back({ error });
    }
    const nowS = Math.floor(clock.now() / 1000);
    const workspace = await workspaceTokenRequest(
      deps.workspaceHost,
      deps.broker,
      {
        grant_type: "authorization_code",
        code: q.get("code")!,
        redirect_uri: callbackUrl,
        code_verifier: pending.workspaceVerifier,
      },
      nowS,
    );
    const user = await workspaceUserOf(deps.workspaceHost, workspace.accessToken);
    const grantId = randomSecret();
    await deps.userGrants.put(grantId, { user, ...workspace });
    const code = randomSecret();
    const issued: IssuedGrant = {
      grantId,
      user,
      clientId: pending.clientId,
      redirectUri: pending.redirectUri,
      codeChallenge: pending.codeChallenge,
    };
    await records.put(`code:${digestOf(code)}`, issued, clock.now() + CODE_TTL_MS);
    deps.logger.info({ event: "broker_sign_in", client_id: pending.clientId }, "a user signed in through the broker");
    back({ code });
  }

  async function tokenAnswer(grant: IssuedGrant): Promise<Record<string, unknown>> {
    const { accessToken, expiresIn } = await tokens.issue(grant);
    const refreshToken = randomSecret();
    await records.put(
      `refresh:${digestOf(refreshToken)}`,
      { grantId: grant.grantId, user: grant.user, clientId: grant.clientId },
      clock.now() + deps.broker.refreshTokenTtlS * 1000,
    );
    return { access_token: accessToken, token_type: "Bearer", expires_in: expiresIn, refresh_token: refreshToken };
  }

  async function token(form: URLSearchParams): Promise<Record<string, unknown>> {
    const clientId = form.get("client_id") ?? "";
    const resource = form.get("resource");
    if (resource !== null && resource !== tokens.resource)
      throw new OAuthRefusal(400, "invalid_target", "This server issues tokens only for its own resource.");
    if (form.get("grant_type") === "authorization_code") {
      const grant = await records.take<IssuedGrant>(`code:${digestOf(form.get("code") ?? "")}`);
      if (!grant || grant.clientId !== clientId || grant.redirectUri !== form.get("redirect_uri"))
        throw new OAuthRefusal(400, "invalid_grant", "The code is invalid, expired, used, or not this client's.");
      if (s256(form.get("code_verifier") ?? "") !== grant.codeChallenge)
        throw new OAuthRefusal(400, "invalid_grant", "PKCE verification failed.");
      return tokenAnswer(grant);
    }
    if (form.get("grant_type") === "refresh_token") {
      // Rotation: the presented refresh token is used up whatever happens next.
      const grant = await records.take<IssuedGrant>(`refresh:${digestOf(form.get("refresh_token") ?? "")}`);
      if (!grant || grant.clientId !== clientId)
        throw new OAuthRefusal(400, "invalid_grant", "The refresh token is invalid, used, or not this client's.");
      if (!(await deps.userGrants.get(grant.grantId)))
        throw new OAuthRefusal(400, "invalid_grant", "The sign-in was revoked; sign in again.");
      return tokenAnswer(grant);
    }
    throw new OAuthRefusal(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token.");
  }

  /** RFC 7009: a refresh or access token of this server ends the user's sign-in (the sealed workspace tokens go). */
  async function revoke(form: URLSearchParams): Promise<void> {
    const presented = form.get("token") ?? "";
    const refresh = await records.take<IssuedGrant>(`refresh:${digestOf(presented)}`);
    const grantId = refresh?.grantId ?? (await tokens.verify(presented).catch(() => undefined))?.grantId;
    if (grantId) await deps.userGrants.revoke(grantId);
  }

  return async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const route = `${req.method} ${url.pathname}`;
    const guarded = ROUTES[route];
    const source = req.socket.remoteAddress;
    const refused = (status: number, error: string) =>
      guarded ? deps.guard.refused({ endpoint: guarded.endpoint, status, error, source }) : Promise.resolve();
    const redirected = (error: string) => refused(302, error);
    try {
      if (guarded?.spends) {
        const retryAfterS = deps.guard.admit(guarded.spends, source);
        if (retryAfterS !== undefined)
          throw new OAuthRefusal(429, "temporarily_unavailable", "Too many requests; retry later.", {
            "retry-after": String(retryAfterS),
          });
      }
      switch (route) {
        case "GET /.well-known/oauth-authorization-server":
          send(res, 200, metadata, { "cache-control": "max-age=300" });
          return true;
        case "POST /oauth/register": {
          const client = await deps.clients.register(await readJson(req));
          send(res, 201, { ...client.raw, client_id: client.clientId, client_id_issued_at: client.issuedAt });
          return true;
        }
        case "GET /oauth/authorize":
          await authorize(url, res, redirected);
          return true;
        case "GET /oauth/databricks/callback":
          await callback(url, res, redirected);
          return true;
        case "POST /oauth/token":
          send(res, 200, await token(await readForm(req)));
          return true;
        case "POST /oauth/revoke":
          await revoke(await readForm(req));
          send(res, 200, {});
          return true;
        default:
          return false;
      }
    } catch (err) {
      if (err instanceof OAuthRefusal) {
        await refused(err.status, err.error);
        send(res, err.status, { error: err.error, error_description: err.description }, err.headers);
      } else if (err instanceof ClientRegistrationError) {
        await refused(400, err.error);
        send(res, 400, { error: err.error, error_description: err.message });
      } else if (err instanceof GovernedError) {
        await refused(400, "invalid_grant");
        send(res, 400, { error: "invalid_grant", error_description: err.message.slice(0, 200) });
      } else {
        deps.logger.error({ err, route }, "broker request failed");
        send(res, 500, { error: "server_error", error_description: "The request could not be processed." });
      }
      return true;
    }
  };
}

function stateOf(q: URLSearchParams): Record<string, string> {
  const state = q.get("state");
  return state === null ? {} : { state };
}

function redirect(res: ServerResponse, to: string, params: Record<string, string>): void {
  const target = new URL(to);
  for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
  res.writeHead(302, { location: target.toString(), "cache-control": "no-store" }).end();
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  // A declared size over the cap is refused before a byte is read.
  if (Number(req.headers["content-length"] ?? 0) > MAX_FORM_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const tooLarge = () =>
  new OAuthRefusal(413, "invalid_request", `The request body is over ${MAX_FORM_BYTES / 1024} KiB; send less.`);

const readForm = async (req: IncomingMessage) => new URLSearchParams(await readBody(req));

async function readJson(req: IncomingMessage): Promise<unknown> {
  try {
    return JSON.parse(await readBody(req));
  } catch (err) {
    if (err instanceof OAuthRefusal) throw err;
    throw new OAuthRefusal(400, "invalid_client_metadata", "The body must be JSON.");
  }
}

/** The workspace user a fresh token belongs to (SCIM Me), so the server knows whose tokens it keeps. */
async function workspaceUserOf(host: string, accessToken: string): Promise<string> {
  const res = await fetch(`${host}/api/2.0/preview/scim/v2/Me`, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(10_000),
  }).catch(() => undefined);
  const me = res?.ok ? ((await res.json()) as { userName?: unknown }) : undefined;
  if (typeof me?.userName !== "string")
    throw new OAuthRefusal(502, "server_error", "The workspace did not say who signed in.");
  return me.userName;
}
