/**
 * Where the broker keeps sealed records (users' Databricks tokens, its own grants): opaque strings by key. Replicas
 * share one store; the default keeps them in this process. Values are sealed before they arrive here.
 */
export interface BrokerStore {
  get(key: string): Promise<string | undefined>;
  /** Writes `value`, kept at most until `expiresAtMs`. */
  set(key: string, value: string, expiresAtMs: number): Promise<void>;
  /** Removes and returns the value: a one-time read (authorization codes, rotated refresh tokens). */
  take(key: string): Promise<string | undefined>;
  delete(key: string): Promise<void>;
}

/** The in-process store: one replica only (several replicas need the shared store). */
export class InProcessBrokerStore implements BrokerStore {
  private readonly values = new Map<string, { value: string; expiresAtMs: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  get(key: string): Promise<string | undefined> {
    const entry = this.values.get(key);
    if (entry && entry.expiresAtMs <= this.now()) this.values.delete(key);
    return Promise.resolve(entry && entry.expiresAtMs > this.now() ? entry.value : undefined);
  }

  set(key: string, value: string, expiresAtMs: number): Promise<void> {
    this.values.set(key, { value, expiresAtMs });
    return Promise.resolve();
  }

  async take(key: string): Promise<string | undefined> {
    const value = await this.get(key);
    this.values.delete(key);
    return value;
  }

  delete(key: string): Promise<void> {
    this.values.delete(key);
    return Promise.resolve();
  }

  /** Records held (expired ones included until read): for tests and metrics. */
  get size(): number {
    return this.values.size;
  }

  /** The raw stored values, as an operator with access to the store would see them. */
  rawValues(): string[] {
    return [...this.values.values()].map((entry) => entry.value);
  }
}
