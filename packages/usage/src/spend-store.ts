import { type Clock, type MaybePromise, systemClock } from '@bulwark/core';

/** One counter change. Amounts are integers in nano-USD (1e-9 USD), so sums are exact. */
export interface SpendEntry {
  /** The counter's full key (budget, subject and window). */
  key: string;
  /** Nano-USD to add; negative to give back. */
  amount: number;
  /**
   * For `reserve`: refuse the whole reservation when this counter would go above `limit` (nano-USD).
   * Absent: the counter is only added to.
   */
  limit?: number;
  /** How long from now (ms) the counter must live at least: past the end of its window. */
  ttlMs: number;
}

/** What `reserve` decided. */
export interface ReserveResult {
  /** True when every limit held and every amount was added. */
  ok: boolean;
  /** Each counter's value before this reservation, in entry order (nano-USD). */
  before: number[];
  /** Index of the first entry whose limit would have been exceeded. */
  refused?: number;
}

/**
 * Where spend counters live (version 1 of the contract). `reserve` must be atomic across its entries:
 * under any concurrency, limits hold exactly. In memory by default; `createRedisSpendStore` of
 * `@bulwark/redis-stores` shares the counters between replicas. Store plugins of kind `spend-store` create
 * it (`budget: { store: { plugin: redis, url, prefix } }`).
 */
export interface SpendStoreV1 {
  readonly specificationVersion: 'v1';
  /** Adds every amount if no entry's limit would be exceeded; otherwise adds nothing. */
  reserve(entries: readonly SpendEntry[]): MaybePromise<ReserveResult>;
  /** Adds every amount unconditionally (settling a reservation to the actual cost). */
  add(entries: readonly SpendEntry[]): MaybePromise<void>;
  /** Current values (0 for a counter that does not exist or expired). */
  read(keys: readonly string[]): MaybePromise<number[]>;
  /** Releases connections the store opened itself. */
  close?(): MaybePromise<void>;
}

export type SpendStore = SpendStoreV1;

export interface MemorySpendStoreOptions {
  /** Decides when counters expire. Default: the system clock. */
  clock?: Clock;
}

/** Spend counters in this process: atomic because JavaScript runs one reservation at a time. */
export function createMemorySpendStore(options: MemorySpendStoreOptions = {}): SpendStoreV1 {
  const clock = options.clock ?? systemClock;
  const counters = new Map<string, { value: number; expireAt: number }>();
  let operations = 0;

  const currentValue = (key: string, now: number): number => {
    const counter = counters.get(key);
    if (!counter) return 0;
    if (counter.expireAt <= now) {
      counters.delete(key);
      return 0;
    }
    return counter.value;
  };
  const sweep = (now: number): void => {
    operations += 1;
    if (operations % 1024 !== 0) return;
    for (const [key, counter] of counters) if (counter.expireAt <= now) counters.delete(key);
  };
  const apply = (entries: readonly SpendEntry[], now: number): void => {
    for (const entry of entries) {
      const value = currentValue(entry.key, now) + entry.amount;
      counters.set(entry.key, { value, expireAt: now + entry.ttlMs });
    }
  };

  return {
    specificationVersion: 'v1',
    reserve(entries) {
      const now = clock.now();
      sweep(now);
      const before = entries.map((entry) => currentValue(entry.key, now));
      for (const [index, entry] of entries.entries()) {
        if (entry.limit !== undefined && before[index]! + entry.amount > entry.limit) {
          return { ok: false, before, refused: index };
        }
      }
      apply(entries, now);
      return { ok: true, before };
    },
    add(entries) {
      const now = clock.now();
      sweep(now);
      apply(entries, now);
    },
    read(keys) {
      const now = clock.now();
      return keys.map((key) => currentValue(key, now));
    },
  };
}

declare module '@bulwark/core' {
  interface StoreContractMap {
    /** A spend-counter store for budgets: what a `spend-store` plugin creates. */
    'spend-store': SpendStoreV1;
  }
}
