import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as oauth from "openid-client";
import { ErrorCodes, IdentityError } from "../../errors.js";
import { mapOAuthError, workspaceOAuthConfiguration } from "../workspace-oauth.js";

export interface BrowserLoginResult {
  accessToken: string;
  refreshToken?: string;
  /** Epoch seconds. */
  expiresAt: number;
  scopes: string[];
}

export interface BrowserLoginOptions {
  host: string;
  /** A public client: no secret, PKCE proves the code belongs to this process. */
  clientId: string;
  scopes: readonly string[];
  /** Shows the person the URL to open (printing it, or a browser); resolves when shown. */
  openUrl(url: string): Promise<void> | void;
  timeoutMs?: number;
}

const CALLBACK_PATH = "/callback";

function page(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }).end(text);
}

/**
 * Authorization Code + PKCE (S256) against the workspace's `/oidc/v1/authorize`, with a one-shot callback server
 * on 127.0.0.1 (random port, RFC 8252 §7.3). The `state` ties the callback to this attempt.
 */
export async function loginWithBrowser(options: BrowserLoginOptions): Promise<BrowserLoginResult> {
  const config = await workspaceOAuthConfiguration(options.host, options.clientId);
  const codeVerifier = oauth.randomPKCECodeVerifier();
  const state = oauth.randomState();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}${CALLBACK_PATH}`;

  try {
    const callback = new Promise<URL>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new IdentityError(ErrorCodes.UNAUTHENTICATED, "The login was not completed in time.")),
        options.timeoutMs ?? 5 * 60_000,
      );
      timer.unref();
      server.on("request", (req: IncomingMessage, res: ServerResponse) => {
        const url = new URL(req.url ?? "/", redirectUri);
        if (url.pathname !== CALLBACK_PATH) return page(res, 404, "Not found.");
        if (url.searchParams.get("state") !== state)
          return page(res, 400, "This login does not belong to this attempt.");
        clearTimeout(timer);
        if (url.searchParams.has("error")) {
          page(res, 400, "The login was refused. You can close this tab.");
          const error = url.searchParams.get("error")!.slice(0, 64);
          return reject(new IdentityError(ErrorCodes.UNAUTHENTICATED, `The workspace refused the login (${error}).`));
        }
        page(res, 200, "Signed in. You can close this tab and return to the terminal.");
        resolve(url);
      });
    });
    const authorizationUrl = oauth.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: options.scopes.join(" "),
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      state,
    });
    // Together, so a refused login arriving while the URL is still being shown is never an unhandled rejection.
    const [, callbackUrl] = await Promise.all([options.openUrl(authorizationUrl.href), callback]);
    let response: oauth.TokenEndpointResponse;
    try {
      response = await oauth.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: codeVerifier,
        expectedState: state,
      });
    } catch (err) {
      throw mapOAuthError(err, "authorization code exchange", {
        code: ErrorCodes.UNAUTHENTICATED,
        hint: "start the login again",
      });
    }
    return {
      accessToken: response.access_token,
      ...(response.refresh_token ? { refreshToken: response.refresh_token } : {}),
      expiresAt: Math.floor(Date.now() / 1000) + (response.expires_in ?? 3600),
      scopes: response.scope ? response.scope.split(" ") : [...options.scopes],
    };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
