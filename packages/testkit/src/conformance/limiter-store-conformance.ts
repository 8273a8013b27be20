import { randomBytes } from 'node:crypto';
import type { MaybePromise } from '@bulwark/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom, type SeededRandom } from './seeded-random.js';

/** One rate dimension, as `@bulwark/limiter`'s `RateDimension` (repeated here: testkit does not depend on the limiter). */
export interface LimiterDimensionLike {
  readonly name: string;
  readonly limit: number;
  readonly periodMs: number;
  readonly burst: number;
}

/** The shape of `LimiterStoreV1` the suite drives (any `@bulwark/limiter` store fits). */
export interface LimiterStoreLike {
  readonly specificationVersion: 'v1';
  readonly name: string;
  acquire(
    key: string,
    costs: readonly number[],
    dimensions: readonly LimiterDimensionLike[],
    now: number,
  ): MaybePromise<{ readonly allowed: boolean; readonly retryAfterMs: number }>;
  adjust(
    key: string,
    deltas: readonly number[],
    dimensions: readonly LimiterDimensionLike[],
    now: number,
  ): MaybePromise<void>;
  pause(
    key: string,
    durationMs: number,
    dimensions: readonly LimiterDimensionLike[],
    now: number,
  ): MaybePromise<void>;
  close?(): MaybePromise<void>;
}

export interface LimiterStoreConformanceOptions {
  /** Suite title (`memory`, `redis`…). */
  name: string;
  /**
   * Creates the store under test, once for the suite. It must decide on the `now` it is given (a shared
   * store that reads its own clock runs here with the caller's time, e.g. `timeSource: 'caller'`).
   */
  create: () => MaybePromise<LimiterStoreLike>;
  /** The reference semantics: `createMemoryLimiterStore` of `@bulwark/limiter`. A fresh one per call. */
  reference: () => LimiterStoreLike;
  /** Steps of the differential run against the reference. Default 300. */
  steps?: number;
  /** Seed of the differential run. Default 1. */
  seed?: number;
  /** Called after the suite (the suite closes the store first). */
  teardown?: () => MaybePromise<void>;
}

const perSecond = (limit: number, burst: number, name = 'requests'): LimiterDimensionLike => ({
  name,
  limit,
  periodMs: 1000,
  burst,
});

/**
 * The behaviour every limiter store must have (GCRA, all or nothing over dimensions, adjust and pause),
 * then a differential run: a seeded random sequence of admissions, corrections, pauses and time steps
 * over several keys, every answer compared with the reference store's. Times are the caller's, so the
 * comparison is exact; emission intervals are whole milliseconds, so no rounding differs.
 *
 * ```ts
 * describeLimiterStoreConformance({
 *   name: 'redis',
 *   create: () => createRedisLimiterStore({ url, prefix, timeSource: 'caller' }),
 *   reference: () => createMemoryLimiterStore(),
 * });
 * ```
 */
export function describeLimiterStoreConformance(options: LimiterStoreConformanceOptions): void {
  describe(`limiter store conformance: ${options.name}`, () => {
    let store: LimiterStoreLike;
    const run = randomBytes(4).toString('hex');
    let sequence = 0;
    const key = (label: string): string => `conformance-${run}-${label}-${sequence++}`;
    const start = 1_000_000;

    beforeAll(async () => {
      store = await options.create();
    });
    afterAll(async () => {
      await store?.close?.();
      await options.teardown?.();
    });

    it('declares the v1 contract and a name', () => {
      expect(store.specificationVersion).toBe('v1');
      expect(store.name.length).toBeGreaterThan(0);
    });

    it('admits the burst, then refuses with the time to the next unit, then admits at the rate', async () => {
      const scope = key('burst');
      const dimensions = [perSecond(10, 5)];
      const results = [];
      for (let index = 0; index < 6; index += 1) {
        results.push(await store.acquire(scope, [1], dimensions, start));
      }
      expect(results.slice(0, 5).every((result) => result.allowed)).toBe(true);
      expect(results[5]).toEqual({ allowed: false, retryAfterMs: 100 });
      expect(await store.acquire(scope, [1], dimensions, start + 99)).toMatchObject({ allowed: false });
      expect(await store.acquire(scope, [1], dimensions, start + 100)).toEqual({
        allowed: true,
        retryAfterMs: 0,
      });
    });

    it('charges every dimension or none', async () => {
      const scope = key('all-or-nothing');
      const dimensions = [perSecond(10, 5), perSecond(100, 100, 'tokens')];
      expect((await store.acquire(scope, [1, 90], dimensions, start)).allowed).toBe(true);
      // Tokens refuse: the request unit must not be spent either.
      expect(await store.acquire(scope, [1, 20], dimensions, start)).toEqual({
        allowed: false,
        retryAfterMs: 100,
      });
      for (let index = 0; index < 4; index += 1) {
        expect((await store.acquire(scope, [1, 0], dimensions, start)).allowed).toBe(true);
      }
      expect((await store.acquire(scope, [1, 0], dimensions, start)).allowed).toBe(false);
    });

    it('admits a cost above the burst into debt when the bucket is full', async () => {
      const scope = key('debt');
      const dimensions = [perSecond(10, 5)];
      expect((await store.acquire(scope, [8], dimensions, start)).allowed).toBe(true);
      expect(await store.acquire(scope, [1], dimensions, start)).toEqual({
        allowed: false,
        retryAfterMs: 400,
      });
    });

    it('adjusts both ways, never above full', async () => {
      const scope = key('adjust');
      const dimensions = [perSecond(100, 100, 'tokens')];
      expect((await store.acquire(scope, [100], dimensions, start)).allowed).toBe(true);
      await store.adjust(scope, [-60], dimensions, start);
      expect((await store.acquire(scope, [60], dimensions, start)).allowed).toBe(true);
      expect((await store.acquire(scope, [1], dimensions, start)).allowed).toBe(false);
      await store.adjust(scope, [-1000], dimensions, start);
      expect((await store.acquire(scope, [100], dimensions, start)).allowed).toBe(true);
      expect((await store.acquire(scope, [1], dimensions, start)).allowed).toBe(false);
      await store.adjust(scope, [200], dimensions, start);
      // 200 units of 10 ms on a full bucket: the next unit waits 2000 + 10 − 1000 (the burst) ms.
      expect(await store.acquire(scope, [1], dimensions, start)).toEqual({
        allowed: false,
        retryAfterMs: 2010,
      });
    });

    it('pauses: nothing for the duration, then the steady rate from an empty bucket', async () => {
      const scope = key('pause');
      const dimensions = [perSecond(10, 5)];
      await store.pause(scope, 3000, dimensions, start);
      // Empty until 3000 ms, then one unit (100 ms) at a time.
      expect(await store.acquire(scope, [1], dimensions, start)).toEqual({
        allowed: false,
        retryAfterMs: 3100,
      });
      expect((await store.acquire(scope, [1], dimensions, start + 3099)).allowed).toBe(false);
      expect((await store.acquire(scope, [1], dimensions, start + 3100)).allowed).toBe(true);
      expect(await store.acquire(scope, [1], dimensions, start + 3100)).toEqual({
        allowed: false,
        retryAfterMs: 100,
      });
    });

    it('keeps keys apart', async () => {
      const dimensions = [perSecond(1, 1)];
      const first = key('apart');
      const second = key('apart');
      expect((await store.acquire(first, [1], dimensions, start)).allowed).toBe(true);
      expect((await store.acquire(first, [1], dimensions, start)).allowed).toBe(false);
      expect((await store.acquire(second, [1], dimensions, start)).allowed).toBe(true);
    });

    it('answers as the reference semantics over a random sequence', async () => {
      const reference = options.reference();
      const random = createSeededRandom(options.seed ?? 1);
      const profiles = limiterProfiles();
      const scopes = Array.from({ length: 4 }, (_, index) => ({
        key: key(`differential-${index}`),
        dimensions: profiles[index % profiles.length]!,
      }));
      let now = start;
      const trace: string[] = [];
      const expected: string[] = [];
      const kinds = new Set<string>();
      for (let step = 0; step < (options.steps ?? 300); step += 1) {
        const scope = scopes[random.int(scopes.length)]!;
        const roll = random.next();
        if (roll < 0.2) {
          now += random.int(400);
          continue;
        }
        const label = `#${step} t+${now - start} ${scope.key.slice(-12)}`;
        if (roll < 0.8) {
          const costs = scope.dimensions.map((dimension) => costFor(random, dimension));
          const actual = await store.acquire(scope.key, costs, scope.dimensions, now);
          const wanted = await reference.acquire(scope.key, costs, scope.dimensions, now);
          trace.push(`${label} acquire ${costs} → ${actual.allowed} ${actual.retryAfterMs}`);
          expected.push(`${label} acquire ${costs} → ${wanted.allowed} ${wanted.retryAfterMs}`);
          kinds.add(wanted.allowed ? 'allowed' : 'refused');
        } else if (roll < 0.95) {
          const deltas = scope.dimensions.map(
            (dimension) => random.int(dimension.burst * 2 + 1) - dimension.burst,
          );
          await store.adjust(scope.key, deltas, scope.dimensions, now);
          await reference.adjust(scope.key, deltas, scope.dimensions, now);
          kinds.add('adjust');
        } else {
          const duration = random.int(1500);
          await store.pause(scope.key, duration, scope.dimensions, now);
          await reference.pause(scope.key, duration, scope.dimensions, now);
          kinds.add('pause');
        }
      }
      await reference.close?.();
      expect(trace).toEqual(expected);
      // The sequence went through every kind of step, so the comparison covered them.
      if ((options.steps ?? 300) >= 100) expect(kinds.size).toBe(4);
    });
  });
}

/** Dimension sets whose emission intervals are whole milliseconds (exact in every representation). */
function limiterProfiles(): LimiterDimensionLike[][] {
  return [
    [{ name: 'requests', limit: 10, periodMs: 1000, burst: 3 }],
    [
      { name: 'requests', limit: 20, periodMs: 1000, burst: 5 },
      { name: 'tokens', limit: 1000, periodMs: 1000, burst: 400 },
    ],
    [{ name: 'requests', limit: 4, periodMs: 2000, burst: 2 }],
    [
      { name: 'requests', limit: 50, periodMs: 1000, burst: 10 },
      { name: 'tokens', limit: 500, periodMs: 1000, burst: 250 },
    ],
  ];
}

function costFor(random: SeededRandom, dimension: LimiterDimensionLike): number {
  // Mostly within the burst, sometimes zero (the dimension is not charged), sometimes above it (debt).
  const roll = random.next();
  if (roll < 0.1) return 0;
  if (roll < 0.15) return dimension.burst + 1 + random.int(dimension.burst);
  return 1 + random.int(Math.max(1, Math.ceil(dimension.burst / 2)));
}
