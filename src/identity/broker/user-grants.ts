import type { Clock } from "../../clock.js";
import type { BrokerConfig } from "../../config/broker-schema.js";
import type { AccessToken } from "../types.js";
import type { SealedRecords } from "./sealed-records.js";
import { GrantRevokedError, workspaceTokenRequest, type WorkspaceGrant } from "./workspace-grants.js";

const KEY = (grantId: string) => `workspace-grant:${grantId}`;

/**
 * Each signed-in user's Databricks tokens, sealed in the broker store under a grant id only the broker's own tokens
 * name. A token near expiry is refreshed (one refresh per grant at a time, the rotated refresh token kept); a refused
 * refresh, or a revocation, removes the grant, so the user's next call is refused.
 */
export class UserGrants {
  private readonly refreshing = new Map<string, Promise<AccessToken>>();

  constructor(
    private readonly host: string,
    private readonly config: BrokerConfig,
    private readonly records: SealedRecords,
    private readonly clock: Clock,
    private readonly refreshMarginS: number,
  ) {}

  async put(grantId: string, grant: WorkspaceGrant): Promise<void> {
    const keepUntilMs = this.clock.now() + this.config.refreshTokenTtlS * 1000;
    await this.records.put(KEY(grantId), grant, keepUntilMs);
  }

  async get(grantId: string): Promise<WorkspaceGrant | undefined> {
    return this.records.get<WorkspaceGrant>(KEY(grantId));
  }

  async revoke(grantId: string): Promise<void> {
    await this.records.delete(KEY(grantId));
  }

  /** A valid workspace token of the grant's user; `forceRefresh` after the workspace answered 401. */
  async token(grantId: string, options: { forceRefresh?: boolean } = {}): Promise<AccessToken> {
    const grant = await this.get(grantId);
    if (!grant) throw new GrantRevokedError();
    const nowS = this.clock.now() / 1000;
    if (!options.forceRefresh && grant.expiresAt - this.refreshMarginS > nowS)
      return { accessToken: grant.accessToken, expiresAt: grant.expiresAt, scopes: grant.scopes };
    let pending = this.refreshing.get(grantId);
    if (!pending) {
      pending = this.refresh(grantId, grant).finally(() => this.refreshing.delete(grantId));
      this.refreshing.set(grantId, pending);
    }
    return pending;
  }

  private async refresh(grantId: string, grant: WorkspaceGrant): Promise<AccessToken> {
    if (!grant.refreshToken) {
      await this.revoke(grantId);
      throw new GrantRevokedError();
    }
    try {
      const fresh = await workspaceTokenRequest(
        this.host,
        this.config,
        { grant_type: "refresh_token", refresh_token: grant.refreshToken },
        Math.floor(this.clock.now() / 1000),
      );
      const next: WorkspaceGrant = {
        user: grant.user,
        accessToken: fresh.accessToken,
        refreshToken: fresh.refreshToken ?? grant.refreshToken,
        expiresAt: fresh.expiresAt,
        scopes: fresh.scopes.length > 0 ? fresh.scopes : grant.scopes,
      };
      await this.put(grantId, next);
      return { accessToken: next.accessToken, expiresAt: next.expiresAt, scopes: next.scopes };
    } catch (err) {
      if (err instanceof GrantRevokedError) await this.revoke(grantId);
      throw err;
    }
  }
}
