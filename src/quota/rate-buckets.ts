import pkg from "rate-limiter-flexible";
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import type pg from "pg";

const { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } = pkg;

/** What taking one point from a bucket said: admitted or not, and when the bucket's window ends. */
export interface RateVerdict {
  admitted: boolean;
  msBeforeNext: number;
}

/** The table the shared rate buckets live in (one row per bucket key, reused window after window). */
export const RATES_TABLE = "mcp_quota_rates";
const WINDOW_S = 60;

/**
 * Per-minute buckets kept by rate-limiter-flexible, one limiter per points value (a limiter has fixed points). The
 * window of a key opens with its first point and lasts a minute; the store's counter is incremented atomically by one
 * statement (an upsert in PostgreSQL), so replicas never race on a read-modify-write.
 */
export class RateBuckets {
  private readonly limiters = new Map<number, RateLimiterAbstract>();

  private constructor(private readonly create: (points: number) => RateLimiterAbstract) {}

  static inMemory(): RateBuckets {
    return new RateBuckets((points) => new RateLimiterMemory({ points, duration: WINDOW_S, keyPrefix: "q" }));
  }

  /** Buckets in PostgreSQL; the table is created beforehand (quota-store.ts), so no limiter creates one on its own. */
  static inPostgres(pool: pg.Pool): RateBuckets {
    return new RateBuckets(
      (points) =>
        new RateLimiterPostgres({
          storeClient: pool,
          storeType: "pool",
          tableName: RATES_TABLE,
          tableCreated: true,
          clearExpiredByTimeout: false,
          points,
          duration: WINDOW_S,
          keyPrefix: "q",
          // A spent bucket is remembered here until its window ends, so a flooding caller costs the store nothing more.
          inMemoryBlockOnConsumed: points,
        }),
    );
  }

  private limiter(points: number): RateLimiterAbstract {
    let limiter = this.limiters.get(points);
    if (!limiter) this.limiters.set(points, (limiter = this.create(points)));
    return limiter;
  }

  /** Takes one point; a store fault rejects (the caller decides what to fall back to). */
  async take(key: string, points: number): Promise<RateVerdict> {
    try {
      const res = await this.limiter(points).consume(key, 1);
      return { admitted: true, msBeforeNext: res.msBeforeNext };
    } catch (err) {
      if (err instanceof RateLimiterRes) return { admitted: false, msBeforeNext: err.msBeforeNext };
      throw err;
    }
  }

  /** Whether the bucket is already spent, without taking a point. */
  async peek(key: string, points: number): Promise<RateVerdict> {
    const limiter = this.limiter(points) as RateLimiterAbstract & {
      getInMemoryBlockMsBeforeExpire?(k: string): number;
    };
    const blockedMs = limiter.getInMemoryBlockMsBeforeExpire?.(limiter.getKey(key)) ?? 0;
    if (blockedMs > 0) return { admitted: false, msBeforeNext: blockedMs };
    const res = await limiter.get(key);
    if (!res || res.consumedPoints < points) return { admitted: true, msBeforeNext: res?.msBeforeNext ?? 0 };
    return { admitted: false, msBeforeNext: res.msBeforeNext };
  }
}
