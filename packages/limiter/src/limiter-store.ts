import type { MaybePromise } from '@bulwark/core';

/**
 * One rate dimension of a limit (requests per minute, tokens per minute…), enforced as GCRA: a
 * token bucket of `burst` units that refills at `limit` units per `periodMs`.
 */
export interface RateDimension {
  /** Stable name of the dimension (`requests`, `tokens`): part of the storage key. */
  readonly name: string;
  /** Units allowed per `periodMs`. */
  readonly limit: number;
  /** Length of the period in ms (60 000 for per-minute limits). */
  readonly periodMs: number;
  /** Units that may go at once when the bucket is full (the burst tolerance, in units, not time). */
  readonly burst: number;
}

/** What an admission attempt answers. */
export interface AcquireResult {
  /** True when every dimension admitted the cost (and it was charged); false when none was charged. */
  readonly allowed: boolean;
  /** When refused: ms until the same cost would be admitted if nothing else happened. 0 when allowed. */
  readonly retryAfterMs: number;
}

/**
 * The admission math of the rate limiter, behind an interface so that state can live in this process
 * (`createMemoryLimiterStore`) or be shared by every replica (`@bulwark/redis-stores`). Store plugins of
 * kind `limiter-store` create it (`limiter: { store: { plugin: redis, url, prefix } }`).
 *
 * Implementations must make `acquire` atomic over all dimensions of a key: either every dimension is
 * charged or none is (a request must not drain the request budget and then be refused on tokens).
 * `now` is the caller's clock; a shared store may use its own time source instead (Redis `TIME`), so
 * all methods take durations and answer durations, never absolute times.
 */
export interface LimiterStoreV1 {
  readonly specificationVersion: 'v1';
  /** Name for logs and errors (`memory`, `redis`). */
  readonly name: string;
  /**
   * Admits `costs[i]` units on `dimensions[i]` for every i, or nothing. A cost larger than the burst
   * is admitted when the bucket is full (the bucket then goes into debt), so big requests never starve.
   */
  acquire(
    key: string,
    costs: readonly number[],
    dimensions: readonly RateDimension[],
    now: number,
  ): MaybePromise<AcquireResult>;
  /**
   * Charges (positive) or refunds (negative) units without an admission check: the correction once
   * the real token usage is known.
   */
  adjust(
    key: string,
    deltas: readonly number[],
    dimensions: readonly RateDimension[],
    now: number,
  ): MaybePromise<void>;
  /**
   * Admits nothing on `key` for `durationMs` (a provider 429 with `retry-after`), then lets callers go
   * again at the steady rate from an empty bucket, so a backlog is not released all at once.
   */
  pause(
    key: string,
    durationMs: number,
    dimensions: readonly RateDimension[],
    now: number,
  ): MaybePromise<void>;
  /** Releases connections and timers. */
  close?(): MaybePromise<void>;
}

/** The latest limiter store contract. */
export type LimiterStore = LimiterStoreV1;

declare module '@bulwark/core' {
  interface StoreContractMap {
    /** A rate-limiter store: what a `limiter-store` plugin creates. */
    'limiter-store': LimiterStoreV1;
  }
}
