import { randomBytes } from "node:crypto";
import type { Seed } from "../seed/schema.js";

interface RefreshGrant {
  user: string;
  clientId: string;
  scopes: string[];
}

type AppConnection = Seed["workspace"]["appConnections"][number];

const isLoopbackHttp = (url: URL) =>
  url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);

/** True when `redirectUri` is one of the connection's redirect URLs (a loopback one on any port, RFC 8252 §7.3). */
export function redirectAllowed(connection: AppConnection, redirectUri: string): boolean {
  let asked: URL;
  try {
    asked = new URL(redirectUri);
  } catch {
    return false;
  }
  return connection.redirectUrls.some((registered) => {
    if (registered === redirectUri) return true;
    const url = new URL(registered);
    return (
      isLoopbackHttp(url) &&
      isLoopbackHttp(asked) &&
      url.hostname === asked.hostname &&
      url.pathname === asked.pathname &&
      asked.search === ""
    );
  });
}

/**
 * Users' refresh tokens (rotated on use) and revocations: revoking a user's sign-in to a client removes its refresh
 * tokens and makes every access token issued to that client for that user until then invalid, as removing a user's
 * app-connection tokens does.
 */
export class WorkspaceUserGrants {
  private readonly refreshTokens = new Map<string, RefreshGrant>();
  private readonly revokedUntil = new Map<string, number>();

  issueRefreshToken(grant: RefreshGrant): string {
    const token = randomBytes(32).toString("base64url");
    this.refreshTokens.set(token, grant);
    return token;
  }

  peek(token: string): RefreshGrant | undefined {
    return this.refreshTokens.get(token);
  }

  /** The grant of a refresh token, used up (the caller issues the rotated one). */
  redeem(token: string): RefreshGrant | undefined {
    const grant = this.refreshTokens.get(token);
    this.refreshTokens.delete(token);
    return grant;
  }

  /** Revokes a user's refresh and access tokens of one client (all clients when none is named). */
  revoke(user: string, clientId?: string, nowS = Math.floor(Date.now() / 1000)): number {
    let removed = 0;
    for (const [token, grant] of this.refreshTokens)
      if (grant.user.toLowerCase() === user.toLowerCase() && (clientId === undefined || grant.clientId === clientId)) {
        this.refreshTokens.delete(token);
        removed += 1;
      }
    this.revokedUntil.set(`${user.toLowerCase()}|${clientId ?? "*"}`, nowS);
    return removed;
  }

  /** True when an access token (its `sub`, `client_id` and `iat`) was issued before a revocation that covers it. */
  isRevoked(sub: string, clientId: string, iat: number): boolean {
    const user = sub.toLowerCase();
    const until = Math.max(
      this.revokedUntil.get(`${user}|${clientId}`) ?? -1,
      this.revokedUntil.get(`${user}|*`) ?? -1,
    );
    return iat <= until;
  }
}
