import type { SealedBox } from "./sealed-box.js";
import type { BrokerStore } from "./token-store.js";

/** JSON records in the broker store, each sealed under its own key name (a record moved to another key never opens). */
export class SealedRecords {
  constructor(
    private readonly store: BrokerStore,
    private readonly box: SealedBox,
  ) {}

  async put(key: string, value: unknown, expiresAtMs: number): Promise<void> {
    await this.store.set(key, this.box.seal(key, JSON.stringify(value)), expiresAtMs);
  }

  async get<T>(key: string): Promise<T | undefined> {
    return this.open<T>(key, await this.store.get(key));
  }

  /** Read once: the record is gone for every replica after this. */
  async take<T>(key: string): Promise<T | undefined> {
    return this.open<T>(key, await this.store.take(key));
  }

  delete(key: string): Promise<void> {
    return this.store.delete(key);
  }

  private open<T>(key: string, sealed: string | undefined): T | undefined {
    const plain = sealed === undefined ? undefined : this.box.open(key, sealed);
    return plain === undefined ? undefined : (JSON.parse(plain) as T);
  }
}
