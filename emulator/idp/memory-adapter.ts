import type { Adapter, AdapterPayload } from "oidc-provider";

const SWEEP_THRESHOLD = 10_000;

interface Entry {
  payload: AdapterPayload;
  expiresAt: number;
}

/**
 * In-memory oidc-provider storage owned by one local IdP, so it survives Provider rebuilds on key rotation
 * and never mixes with another IdP in the same process (oidc-provider's own memory adapter is module-global).
 */
export class IdpMemoryStore {
  private readonly entries = new Map<string, Entry>();
  private readonly index = new Map<string, string>();

  get(key: string): AdapterPayload | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  set(key: string, payload: AdapterPayload, expiresInSeconds?: number): void {
    const expiresAt = expiresInSeconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + expiresInSeconds * 1000;
    this.entries.set(key, { payload, expiresAt });
    if (this.entries.size > SWEEP_THRESHOLD) this.sweepExpired();
  }

  /** Expired entries are otherwise only dropped when read; a long-running emulator must not grow without bound. */
  private sweepExpired(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  setIndex(key: string, target: string): void {
    this.index.set(key, target);
  }

  getIndex(key: string): string | undefined {
    return this.index.get(key);
  }

  /** Keys of stored entries whose payload belongs to a grant (for revocation by grant id). */
  keysForGrant(grantId: string): string[] {
    return [...this.entries].filter(([, entry]) => entry.payload.grantId === grantId).map(([key]) => key);
  }

  /** oidc-provider calls `new Adapter(modelName)`; this returns that constructor bound to this store. */
  adapterClass(): new (model: string) => Adapter {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const store = this;
    return class StoreAdapter implements Adapter {
      constructor(private readonly model: string) {}

      private key(id: string): string {
        return `${this.model}:${id}`;
      }

      async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
        store.set(this.key(id), payload, expiresIn);
        if (this.model === "Session" && payload.uid) store.setIndex(`sessionUid:${payload.uid}`, id);
        if (payload.userCode) store.setIndex(`userCode:${payload.userCode}`, id);
      }

      async find(id: string): Promise<AdapterPayload | undefined> {
        return store.get(this.key(id));
      }

      async findByUid(uid: string): Promise<AdapterPayload | undefined> {
        const id = store.getIndex(`sessionUid:${uid}`);
        return id === undefined ? undefined : this.find(id);
      }

      async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
        const id = store.getIndex(`userCode:${userCode}`);
        return id === undefined ? undefined : this.find(id);
      }

      async consume(id: string): Promise<void> {
        const payload = store.get(this.key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      }

      async destroy(id: string): Promise<void> {
        store.delete(this.key(id));
      }

      async revokeByGrantId(grantId: string): Promise<void> {
        for (const key of store.keysForGrant(grantId)) store.delete(key);
      }
    };
  }
}
