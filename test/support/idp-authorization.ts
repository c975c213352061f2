import { createHash, randomBytes } from "node:crypto";
import { CookieJarBrowser } from "./browser.js";

export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  /** The demo account that signs in on the login page. */
  account: string;
  scope?: string;
  resource?: string;
  /** Extra authorization parameters (e.g. prompt). */
  extra?: Record<string, string>;
}

/** Where the browser was sent back to the client: a code, or an OAuth error the IdP redirected with. */
export interface AuthorizationOutcome {
  code?: string;
  /** The callback's `iss` (RFC 9207), which clients check against the issuer they started with. */
  iss?: string;
  error?: string;
  verifier: string;
  /** The page the browser stopped on when the IdP did not redirect back (e.g. an error page for a bad client). */
  page?: { status: number; text: string };
}

/** Follows redirects by hand until one leaves the IdP (returned) or a page answers (also returned). */
async function follow(browser: CookieJarBrowser, start: Response, issuer: string) {
  let res = start;
  let url = new URL(issuer);
  for (let hops = 0; hops < 10; hops += 1) {
    if (res.status !== 302 && res.status !== 303) return { page: res, url };
    url = new URL(res.headers.get("location")!, url);
    if (url.origin !== new URL(issuer).origin) return { url };
    res = await browser.request(url.href);
  }
  throw new Error("too many redirects");
}

/** The authorization-code + PKCE sign-in a person does in a browser, scripted against the local IdP's login page. */
export async function authorizeAtIdp(issuer: string, request: AuthorizationRequest): Promise<AuthorizationOutcome> {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const params = new URLSearchParams({
    response_type: "code",
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    scope: request.scope ?? "openid",
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: "state-1",
    ...(request.resource === undefined ? {} : { resource: request.resource }),
    ...request.extra,
  });
  return { ...(await signInAt(new URL(`${issuer}/auth?${params}`), request.account)), verifier };
}

/** Opens an authorization URL (as a client built it) in a fresh browser and signs `account` in on the login page. */
export async function signInAt(
  authorizationUrl: URL,
  account: string,
): Promise<Omit<AuthorizationOutcome, "verifier">> {
  const issuer = authorizationUrl.origin;
  const browser = new CookieJarBrowser();
  const first = await follow(browser, await browser.request(authorizationUrl.href), issuer);
  if (first.page === undefined) return { error: first.url.searchParams.get("error") ?? undefined };
  const html = await first.page.text();
  const action = /action="([^"]+)"/.exec(html)?.[1];
  if (first.page.status !== 200 || action === undefined) return { page: { status: first.page.status, text: html } };
  const posted = await browser.request(new URL(action, issuer).href, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ account }),
  });
  const back = await follow(browser, posted, issuer);
  if (back.page !== undefined) return { page: { status: back.page.status, text: await back.page.text() } };
  return {
    code: back.url.searchParams.get("code") ?? undefined,
    iss: back.url.searchParams.get("iss") ?? undefined,
    error: back.url.searchParams.get("error") ?? undefined,
  };
}

/** POSTs a form to the IdP's token endpoint as a public client; returns the status and the JSON body. */
export async function tokenRequest(
  issuer: string,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${issuer}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Sign-in then code exchange: the token response of a public client. */
export async function signInForTokens(
  issuer: string,
  request: AuthorizationRequest,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const outcome = await authorizeAtIdp(issuer, request);
  if (outcome.code === undefined)
    throw new Error(`no authorization code: ${outcome.error ?? outcome.page?.text.slice(0, 300) ?? "unknown"}`);
  return tokenRequest(issuer, {
    grant_type: "authorization_code",
    code: outcome.code,
    code_verifier: outcome.verifier,
    redirect_uri: request.redirectUri,
    client_id: request.clientId,
    ...(request.resource === undefined ? {} : { resource: request.resource }),
  });
}
