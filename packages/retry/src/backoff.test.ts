import { createSeededRandom } from '@bulwark/provider-mock';
import { describe, expect, it } from 'vitest';
import { backoffDelay, jitterStrategies } from './backoff.js';

describe('backoffDelay', () => {
  it('stays finite and within [0, cap] for every strategy, seed and up to 3000 retries', () => {
    const violations: string[] = [];
    for (const strategy of jitterStrategies) {
      for (const seed of [1, 2, 3, 42, 1234]) {
        const random = createSeededRandom(seed);
        let previous = 100;
        for (let retryIndex = 0; retryIndex < 3000; retryIndex += 1) {
          const delay = backoffDelay({
            strategy,
            retryIndex,
            previousDelayMs: previous,
            baseDelayMs: 100,
            maxDelayMs: 20_000,
            random,
          });
          if (!(Number.isFinite(delay) && delay >= 0 && delay <= 20_000)) {
            violations.push(`${strategy} seed ${seed} retry ${retryIndex}: ${delay}`);
          }
          previous = delay;
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('is exactly min(cap, base·2^n) without jitter', () => {
    const delays = Array.from({ length: 10 }, (_, retryIndex) =>
      backoffDelay({
        strategy: 'none',
        retryIndex,
        previousDelayMs: 0,
        baseDelayMs: 250,
        maxDelayMs: 8000,
        random: Math.random,
      }),
    );
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000]);
  });

  it('draws full jitter uniformly below the exponential bound', () => {
    const random = createSeededRandom(9);
    for (let retryIndex = 0; retryIndex < 6; retryIndex += 1) {
      const bound = Math.min(8000, 250 * 2 ** retryIndex);
      const samples = Array.from({ length: 400 }, () =>
        backoffDelay({
          strategy: 'full',
          retryIndex,
          previousDelayMs: 0,
          baseDelayMs: 250,
          maxDelayMs: 8000,
          random,
        }),
      );
      expect(Math.max(...samples)).toBeLessThan(bound);
      expect(Math.max(...samples)).toBeGreaterThan(bound * 0.9);
      expect(Math.min(...samples)).toBeLessThan(bound * 0.1);
    }
  });

  it('keeps decorrelated jitter between base and three times the previous delay', () => {
    const random = createSeededRandom(5);
    let previous = 100;
    for (let retryIndex = 0; retryIndex < 200; retryIndex += 1) {
      const delay = backoffDelay({
        strategy: 'decorrelated',
        retryIndex,
        previousDelayMs: previous,
        baseDelayMs: 100,
        maxDelayMs: 5000,
        random,
      });
      expect(delay).toBeGreaterThanOrEqual(100);
      expect(delay).toBeLessThanOrEqual(Math.min(5000, previous * 3));
      previous = delay;
    }
  });

  it('keeps equal jitter in the upper half of the bound', () => {
    const random = createSeededRandom(11);
    for (let index = 0; index < 200; index += 1) {
      const delay = backoffDelay({
        strategy: 'equal',
        retryIndex: 2,
        previousDelayMs: 0,
        baseDelayMs: 100,
        maxDelayMs: 5000,
        random,
      });
      expect(delay).toBeGreaterThanOrEqual(200);
      expect(delay).toBeLessThan(400);
    }
  });
});
