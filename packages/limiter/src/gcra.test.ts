import { describe, expect, it } from 'vitest';
import type { RateDimension } from './limiter-store.js';
import { createMemoryLimiterStore } from './memory-limiter-store.js';

const perSecond = (limit: number, burst: number, name = 'requests'): RateDimension => ({
  name,
  limit,
  periodMs: 1000,
  burst,
});

describe('GCRA admission (memory store)', () => {
  it('admits the burst at once, then one per emission interval (T-RL1)', () => {
    const store = createMemoryLimiterStore();
    const dimensions = [perSecond(10, 5)];
    const results = Array.from({ length: 6 }, () => store.acquire('k', [1], dimensions, 0));
    expect(results.slice(0, 5).every((result) => 'allowed' in result && result.allowed)).toBe(true);
    expect(results[5]).toEqual({ allowed: false, retryAfterMs: 100 });
    expect(store.acquire('k', [1], dimensions, 99)).toEqual({ allowed: false, retryAfterMs: 1 });
    expect(store.acquire('k', [1], dimensions, 100)).toEqual({ allowed: true, retryAfterMs: 0 });
    expect(store.acquire('k', [1], dimensions, 100)).toEqual({ allowed: false, retryAfterMs: 100 });
  });

  it('uses burst × emission as tolerance, not burst × period (T-RL2)', () => {
    const store = createMemoryLimiterStore();
    const dimensions: RateDimension[] = [{ name: 'requests', limit: 60, periodMs: 60_000, burst: 1 }];
    expect(store.acquire('k', [1], dimensions, 0)).toMatchObject({ allowed: true });
    expect(store.acquire('k', [1], dimensions, 0)).toEqual({ allowed: false, retryAfterMs: 1000 });
  });

  it('is all or nothing across dimensions (T-RL3)', () => {
    const store = createMemoryLimiterStore();
    const dimensions = [perSecond(10, 5), perSecond(100, 100, 'tokens')];
    expect(store.acquire('k', [1, 100], dimensions, 0)).toMatchObject({ allowed: true });
    // Requests have room (4 left), tokens do not: refused, and the request budget is untouched.
    expect(store.acquire('k', [1, 50], dimensions, 0)).toEqual({ allowed: false, retryAfterMs: 500 });
    for (let index = 0; index < 4; index += 1) {
      expect(store.acquire('k', [1, 0], dimensions, 0)).toMatchObject({ allowed: true });
    }
    expect(store.acquire('k', [1, 0], dimensions, 0)).toMatchObject({ allowed: false });
  });

  it('admits a cost larger than the burst when the bucket is full, into debt', () => {
    const store = createMemoryLimiterStore();
    const dimensions = [perSecond(100, 10, 'tokens')];
    expect(store.acquire('k', [50], dimensions, 0)).toMatchObject({ allowed: true });
    // 500 ms of debt: the next unit waits until the bucket holds one unit of the burst again.
    expect(store.acquire('k', [1], dimensions, 0)).toEqual({ allowed: false, retryAfterMs: 410 });
    expect(store.acquire('k', [50], dimensions, 410)).toEqual({ allowed: false, retryAfterMs: 90 });
    expect(store.acquire('k', [50], dimensions, 500)).toMatchObject({ allowed: true });
  });

  it('adjusts both ways: a refund frees capacity, a charge takes it', () => {
    const store = createMemoryLimiterStore();
    const dimensions = [perSecond(100, 100, 'tokens')];
    expect(store.acquire('k', [100], dimensions, 0)).toMatchObject({ allowed: true });
    expect(store.acquire('k', [40], dimensions, 0)).toEqual({ allowed: false, retryAfterMs: 400 });
    store.adjust('k', [-60], dimensions, 0);
    expect(store.acquire('k', [40], dimensions, 0)).toMatchObject({ allowed: true });
    store.adjust('k', [30], dimensions, 0);
    expect(store.acquire('k', [20], dimensions, 0)).toEqual({ allowed: false, retryAfterMs: 300 });
    // A refund never makes a bucket more than full.
    store.adjust('k', [-10_000], dimensions, 1000);
    expect(store.acquire('k', [100], dimensions, 1000)).toMatchObject({ allowed: true });
    expect(store.acquire('k', [1], dimensions, 1000)).toMatchObject({ allowed: false });
  });

  it('pause refuses until the end, then restarts from an empty bucket', () => {
    const store = createMemoryLimiterStore();
    const dimensions = [perSecond(10, 5)];
    store.pause('k', 3000, dimensions, 0);
    expect(store.acquire('k', [1], dimensions, 0)).toEqual({ allowed: false, retryAfterMs: 3100 });
    expect(store.acquire('k', [1], dimensions, 3100)).toMatchObject({ allowed: true });
    expect(store.acquire('k', [1], dimensions, 3100)).toEqual({ allowed: false, retryAfterMs: 100 });
  });

  it('keeps keys apart and forgets idle keys beyond maxIdleKeys', () => {
    const store = createMemoryLimiterStore({ maxIdleKeys: 2 });
    const dimensions = [perSecond(1, 1)];
    expect(store.acquire('a', [1], dimensions, 0)).toMatchObject({ allowed: true });
    expect(store.acquire('b', [1], dimensions, 0)).toMatchObject({ allowed: true });
    expect(store.acquire('a', [1], dimensions, 0)).toMatchObject({ allowed: false });
    // At 2000 both are idle again; a third key sweeps them without changing any decision.
    expect(store.acquire('c', [1], dimensions, 2000)).toMatchObject({ allowed: true });
    expect(store.acquire('a', [1], dimensions, 2000)).toMatchObject({ allowed: true });
    expect(store.acquire('a', [1], dimensions, 2000)).toMatchObject({ allowed: false });
  });
});
