import { createHash, hkdfSync, randomBytes } from "node:crypto";
import { jwtVerify, SignJWT, errors } from "jose";
import type { Clock } from "../../clock.js";
import { ErrorCodes, IdentityError } from "../../errors.js";

/** What the server's own access token says: who signed in, through which client, for which of its grants. */
export interface BrokerTokenClaims {
  user: string;
  grantId: string;
  clientId: string;
}

/** A one-way name for a secret handed out (code, refresh token): the store never holds the secret itself. */
export const digestOf = (secret: string) => createHash("sha256").update(secret).digest("base64url");

export const randomSecret = () => randomBytes(32).toString("base64url");

/**
 * The server's own short-lived access tokens: HS256 JWTs (a key derived from the broker's token key, so every replica
 * verifies them) bound to this server as issuer and to its MCP resource as audience.
 */
export class BrokerTokens {
  private readonly key: Uint8Array;

  constructor(
    tokenKeyBase64: string,
    readonly issuer: string,
    readonly resource: string,
    private readonly ttlS: number,
    private readonly clock: Clock,
  ) {
    this.key = new Uint8Array(
      hkdfSync("sha256", Buffer.from(tokenKeyBase64, "base64"), Buffer.alloc(0), "broker access tokens", 32),
    );
  }

  async issue(claims: BrokerTokenClaims): Promise<{ accessToken: string; expiresIn: number }> {
    const now = Math.floor(this.clock.now() / 1000);
    const accessToken = await new SignJWT({ grant: claims.grantId, client_id: claims.clientId })
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
      .setIssuer(this.issuer)
      .setAudience(this.resource)
      .setSubject(claims.user)
      .setIssuedAt(now)
      .setExpirationTime(now + this.ttlS)
      .setJti(randomSecret())
      .sign(this.key);
    return { accessToken, expiresIn: this.ttlS };
  }

  async verify(token: string): Promise<BrokerTokenClaims & { exp: number }> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: this.issuer,
        audience: this.resource,
        algorithms: ["HS256"],
        requiredClaims: ["exp", "sub"],
        currentDate: new Date(this.clock.now()),
      });
      if (typeof payload.grant !== "string" || typeof payload.client_id !== "string") throw new Error("claims");
      return { user: payload.sub!, grantId: payload.grant, clientId: payload.client_id, exp: payload.exp! };
    } catch (err) {
      if (err instanceof errors.JWTExpired)
        throw new IdentityError(ErrorCodes.TOKEN_EXPIRED, "The server's access token has expired; refresh it.");
      throw new IdentityError(
        ErrorCodes.TOKEN_INVALID,
        "The bearer token was not issued by this server for this resource.",
      );
    }
  }
}
