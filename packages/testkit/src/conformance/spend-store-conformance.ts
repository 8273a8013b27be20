import { randomBytes } from 'node:crypto';
import { createVirtualClock, type MaybePromise, type VirtualClock } from '@bulwark/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom } from './seeded-random.js';

/** One counter change, as `SpendEntry` of `@bulwark/usage` (repeated here: testkit does not depend on usage). */
export interface SpendEntryLike {
  key: string;
  amount: number;
  limit?: number;
  ttlMs: number;
}

/** The shape of `SpendStoreV1` the suite drives (any `@bulwark/usage` spend store fits). */
export interface SpendStoreLike {
  readonly specificationVersion: 'v1';
  reserve(
    entries: readonly SpendEntryLike[],
  ): MaybePromise<{ ok: boolean; before: number[]; refused?: number }>;
  add(entries: readonly SpendEntryLike[]): MaybePromise<void>;
  read(keys: readonly string[]): MaybePromise<number[]>;
  close?(): MaybePromise<void>;
}

export interface SpendStoreConformanceOptions {
  /** Suite title (`memory`, `redis`…). */
  name: string;
  /**
   * Creates the store under test, once. When it measures TTLs on an injected clock, pass `clock` to it
   * and set `virtualTime`; otherwise expiry is tested in real time.
   */
  create: (context: { clock: VirtualClock }) => MaybePromise<SpendStoreLike>;
  /** The store measures TTLs on the clock it was given. Default false. */
  virtualTime?: boolean;
  /** The reference semantics: `createMemorySpendStore` of `@bulwark/usage`. A fresh one per call. */
  reference: () => SpendStoreLike;
  /** Steps of the differential run. Default 300. */
  steps?: number;
  /** Seed of the differential run. Default 3. */
  seed?: number;
  /** Called after the suite (the suite closes the store first). */
  teardown?: () => MaybePromise<void>;
}

const hour = 3_600_000;

/**
 * The behaviour every spend store must have: a reservation is all or nothing and says which limit refused,
 * `add` is unconditional (negative gives back), unknown counters read 0, counters expire after their TTL,
 * and concurrent reservations never overshoot a limit. Then a differential run: a seeded random sequence
 * of reservations, settlements and reads over shared counters, compared answer by answer with the
 * reference store.
 */
export function describeSpendStoreConformance(options: SpendStoreConformanceOptions): void {
  describe(`spend store conformance: ${options.name}`, () => {
    const clock = createVirtualClock(1_000_000);
    let store: SpendStoreLike;
    const run = randomBytes(4).toString('hex');
    let sequence = 0;
    const key = (label: string): string => `conformance-${run}-${label}-${sequence++}`;

    beforeAll(async () => {
      store = await options.create({ clock });
    });
    afterAll(async () => {
      await store?.close?.();
      await options.teardown?.();
    });

    it('declares the v1 contract', () => {
      expect(store.specificationVersion).toBe('v1');
    });

    it('reserves all or nothing and names the entry whose limit refused', async () => {
      const budget = key('budget');
      const other = key('other');
      expect(await store.reserve([{ key: budget, amount: 5, limit: 10, ttlMs: hour }])).toEqual({
        ok: true,
        before: [0],
      });
      expect(
        await store.reserve([
          { key: other, amount: 1, ttlMs: hour },
          { key: budget, amount: 6, limit: 10, ttlMs: hour },
        ]),
      ).toEqual({ ok: false, before: [0, 5], refused: 1 });
      // Nothing was added to the first counter either.
      expect(await store.read([budget, other])).toEqual([5, 0]);
      // Reaching the limit exactly is allowed.
      expect((await store.reserve([{ key: budget, amount: 5, limit: 10, ttlMs: hour }])).ok).toBe(true);
      expect((await store.reserve([{ key: budget, amount: 1, limit: 10, ttlMs: hour }])).ok).toBe(false);
    });

    it('adds unconditionally, negative amounts give back, unknown counters read 0', async () => {
      const counter = key('add');
      await store.add([{ key: counter, amount: 30, ttlMs: hour }]);
      await store.add([{ key: counter, amount: -12, ttlMs: hour }]);
      expect(await store.read([counter, key('never')])).toEqual([18, 0]);
      await store.add([]);
      expect(await store.read([])).toEqual([]);
    });

    it('expires a counter after its TTL', async () => {
      const counter = key('expiry');
      await store.add([{ key: counter, amount: 7, ttlMs: 50 }]);
      expect(await store.read([counter])).toEqual([7]);
      if (options.virtualTime) await clock.advance(51);
      else await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await store.read([counter])).toEqual([0]);
    });

    it('never overshoots a limit under concurrent reservations', async () => {
      const counter = key('concurrent');
      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          Promise.resolve(store.reserve([{ key: counter, amount: 3, limit: 30, ttlMs: hour }])),
        ),
      );
      expect(results.filter((result) => result.ok)).toHaveLength(10);
      expect(await store.read([counter])).toEqual([30]);
    });

    it('answers as the reference semantics over a random sequence', async () => {
      const reference = options.reference();
      const random = createSeededRandom(options.seed ?? 3);
      const counters = Array.from({ length: 5 }, (_, index) => key(`differential-${index}`));
      const pick = (): string => counters[random.int(counters.length)]!;
      const trace: string[] = [];
      const expected: string[] = [];
      let refusals = 0;
      for (let step = 0; step < (options.steps ?? 300); step += 1) {
        const roll = random.next();
        if (roll < 0.6) {
          const entries: SpendEntryLike[] = Array.from({ length: 1 + random.int(3) }, () => {
            const entry: SpendEntryLike = { key: pick(), amount: 1 + random.int(40_000), ttlMs: hour };
            if (random.next() < 0.7) entry.limit = 50_000 + random.int(200_000);
            return entry;
          });
          const actual = await store.reserve(entries);
          const wanted = await reference.reserve(entries);
          trace.push(`#${step} reserve ${JSON.stringify(actual)}`);
          expected.push(`#${step} reserve ${JSON.stringify(wanted)}`);
          if (!wanted.ok) refusals += 1;
        } else if (roll < 0.85) {
          const entries = [{ key: pick(), amount: random.int(20_000) - 10_000, ttlMs: hour }];
          await store.add(entries);
          await reference.add(entries);
        } else {
          const keys = [pick(), pick()];
          trace.push(`#${step} read ${JSON.stringify(await store.read(keys))}`);
          expected.push(`#${step} read ${JSON.stringify(await reference.read(keys))}`);
        }
      }
      trace.push(`end ${JSON.stringify(await store.read(counters))}`);
      expected.push(`end ${JSON.stringify(await reference.read(counters))}`);
      await reference.close?.();
      expect(trace).toEqual(expected);
      if ((options.steps ?? 300) >= 100) expect(refusals).toBeGreaterThan(0);
    });
  });
}
