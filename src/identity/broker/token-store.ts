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

const SWEEP_EVERY_WRITES = 1024;

/** The in-process store: one replica only (several replicas need the shared store). */
export class InProcessBrokerStore implements BrokerStore {
  private readonly values = new Map<string, { value: string; expiresAtMs: number }>();
  private writes = 0;

  constructor(private readonly now: () => number = Date.now) {}

  get(key: string): Promise<string | undefined> {
    const entry = this.values.get(key);
    if (entry && entry.expiresAtMs <= this.now()) this.values.delete(key);
    return Promise.resolve(entry && entry.expiresAtMs > this.now() ? entry.value : undefined);
  }

  set(key: string, value: string, expiresAtMs: number): Promise<void> {
    // Records nobody reads again (abandoned sign-ins, unused codes) go in a sweep every so many writes.
    if (++this.writes % SWEEP_EVERY_WRITES === 0) this.sweep();
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

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.values) if (entry.expiresAtMs <= now) this.values.delete(key);
  }

  /** Records held (expired ones included until read or swept): for tests and metrics. */
  get size(): number {
    return this.values.size;
  }

  /** The raw stored values, as an operator with access to the store would see them. */
  rawValues(): string[] {
    return [...this.values.values()].map((entry) => entry.value);
  }
}
