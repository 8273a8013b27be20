import { gcraAcquire, gcraAdjust, gcraPause } from './gcra.js';
import type { AcquireResult, LimiterStoreV1, RateDimension } from './limiter-store.js';

/** Options of `createMemoryLimiterStore`. */
export interface MemoryLimiterStoreOptions {
  /**
   * Idle keys (every bucket full again) are dropped once the store holds more than this many keys,
   * so per-tenant scopes cannot grow memory without bound. Default 10 000.
   */
  maxIdleKeys?: number;
}

/** The in-process limiter store: exact GCRA over a `Map`, no I/O. The default store of `createRateLimiter`. */
export function createMemoryLimiterStore(options: MemoryLimiterStoreOptions = {}): LimiterStoreV1 {
  const maxIdleKeys = options.maxIdleKeys ?? 10_000;
  const buckets = new Map<string, Float64Array>();

  const bucketFor = (key: string, dimensions: readonly RateDimension[], now: number): Float64Array => {
    let tats = buckets.get(key);
    if (!tats || tats.length !== dimensions.length) {
      if (buckets.size >= maxIdleKeys) sweep(now);
      tats = new Float64Array(dimensions.length);
      buckets.set(key, tats);
    }
    return tats;
  };

  const sweep = (now: number): void => {
    for (const [key, tats] of buckets) {
      if (tats.every((tat) => tat <= now)) buckets.delete(key);
    }
  };

  return {
    specificationVersion: 'v1',
    name: 'memory',
    acquire(key, costs, dimensions, now): AcquireResult {
      return gcraAcquire(bucketFor(key, dimensions, now), costs, dimensions, now);
    },
    adjust(key, deltas, dimensions, now) {
      gcraAdjust(bucketFor(key, dimensions, now), deltas, dimensions, now);
    },
    pause(key, durationMs, dimensions, now) {
      gcraPause(bucketFor(key, dimensions, now), durationMs, dimensions, now);
    },
    close() {
      buckets.clear();
    },
  };
}
