import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../clock/virtual-clock.js';
import { createRetryBudget } from './retry-budget.js';

describe('createRetryBudget', () => {
  it('starts full, refuses when empty, refills at the floor rate and earns ratio per success', async () => {
    const clock = createVirtualClock();
    const budget = createRetryBudget({ clock, ratio: 0.5, minPerSecond: 2, maxTokens: 3 });
    expect([budget.trySpend(), budget.trySpend(), budget.trySpend(), budget.trySpend()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    await clock.advance(499);
    expect(budget.trySpend()).toBe(false);
    await clock.advance(1);
    expect(budget.trySpend()).toBe(true);
    budget.recordSuccess();
    expect(budget.trySpend()).toBe(false);
    budget.recordSuccess();
    expect(budget.available).toBeCloseTo(1, 10);
    expect(budget.trySpend()).toBe(true);
    for (let index = 0; index < 100; index += 1) budget.recordSuccess();
    expect(budget.available).toBe(3);
  });

  it('names the bad option', () => {
    expect(() => createRetryBudget({ ratio: -1 })).toThrow(/budget\.ratio/);
    expect(() => createRetryBudget({ maxTokens: 0 })).toThrow(/budget\.maxTokens/);
  });
});
