import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK, type CryptoKey } from "jose";
import type { Authenticator, WorkspaceContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import type { Principal } from "../principal.js";

/** Workspace access tokens: RS256 JWTs signed by the local workspace, verified on every API call. */
export class WorkspaceTokens implements Authenticator {
  private constructor(
    private readonly ctx: WorkspaceContext,
    private readonly privateKey: CryptoKey,
    private readonly publicJwk: JWK,
  ) {}

  static async create(ctx: WorkspaceContext): Promise<WorkspaceTokens> {
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: randomUUID(), alg: "RS256", use: "sig" };
    return new WorkspaceTokens(ctx, privateKey, jwk);
  }

  get issuer(): string {
    return `${this.ctx.baseUrl}/oidc`;
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  /** A token for a seed user or service principal; `ttlSeconds` may be cut to a subject token's expiry. */
  async issue(principalName: string, scopes: string[], ttlSeconds: number, clientId = "databricks-cli") {
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = Math.max(1, Math.floor(ttlSeconds));
    const scope = scopes.join(" ");
    const access_token = await new SignJWT({ scope, client_id: clientId })
      .setProtectedHeader({ alg: "RS256", kid: this.publicJwk.kid!, typ: "at+jwt" })
      .setIssuer(this.issuer)
      .setSubject(principalName)
      .setAudience(this.ctx.baseUrl)
      .setIssuedAt(now)
      .setExpirationTime(now + expiresIn)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { access_token, expires_in: expiresIn, scope };
  }

  async authenticate(req: IncomingMessage): Promise<Principal> {
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+([\w.~+/=-]+)$/i.exec(header) : null;
    if (!m)
      throw new ApiError(401, "UNAUTHENTICATED", "Credential was not sent or was of an unsupported type for this API.");
    let payload;
    try {
      ({ payload } = await jwtVerify(m[1]!, this.publicJwk, { issuer: this.issuer, algorithms: ["RS256"] }));
    } catch (err) {
      const expired = (err as { code?: string }).code === "ERR_JWT_EXPIRED";
      throw new ApiError(401, "UNAUTHENTICATED", expired ? "Token expired." : "Invalid access token.");
    }
    if (this.ctx.userGrants?.isRevoked(String(payload.sub), String(payload.client_id), payload.iat ?? 0))
      throw new ApiError(401, "UNAUTHENTICATED", "Invalid access token.");
    const scopes = typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : [];
    const principal = this.ctx.directory.principalFor(String(payload.sub), scopes, payload.exp ?? 0);
    if (!principal) throw new ApiError(401, "UNAUTHENTICATED", "Invalid access token.");
    return principal;
  }
}
