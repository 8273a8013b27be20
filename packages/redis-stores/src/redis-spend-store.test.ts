import { BudgetExceededError, type ChatRequest, createBulwark, createVirtualClock } from '@bulwark/core';
import { createMockProvider } from '@bulwark/provider-mock';
import { type TestRedis, useTestRedis } from '@bulwark/testkit';
import { type BudgetOptions, createBudget, estimateRequestTokens } from '@bulwark/usage';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisSpendStore, type RedisSpendStore } from './redis-spend-store.js';

const request: ChatRequest = {
  model: 'metered',
  maxTokens: 100,
  messages: [{ role: 'user', content: 'Summarise the incident report.' }],
};
const inputTokens = estimateRequestTokens({ ...request, model: 'priced-model' });
const perCall = ((inputTokens + 100) * 10) / 1e6;

/** One replica: a budget on `store`, in front of a mock provider that answers every call. */
function replica(budgetOptions: BudgetOptions) {
  const clock = createVirtualClock(Date.UTC(2025, 0, 15, 22));
  const mock = createMockProvider({
    name: 'main',
    clock,
    respond: () => ({
      text: 'ok',
      usage: { inputTokens, outputTokens: 100, totalTokens: inputTokens + 100 },
    }),
  });
  const budget = createBudget({
    // Priced by the requested name too, so the test does not depend on how the budget resolves aliases.
    prices: { prices: { metered: { input: 10, output: 10 }, 'priced-model': { input: 10, output: 10 } } },
    clock,
    ...budgetOptions,
  });
  const bulwark = createBulwark({
    providers: [mock],
    models: { metered: [{ provider: 'main', model: 'priced-model' }] },
    middleware: [budget],
    clock,
  });
  return { bulwark, budget, mock };
}

describe('createRedisSpendStore (real Redis)', () => {
  let redis: TestRedis;
  let admin: Redis;
  const stores: RedisSpendStore[] = [];
  const open = (prefix: string) => {
    const store = createRedisSpendStore({ url: redis.url, prefix: `${redis.prefix}${prefix}` });
    stores.push(store);
    return store;
  };
  beforeAll(async () => {
    redis = await useTestRedis();
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    admin.disconnect();
    await redis.stop();
  });

  it('lets exactly 10 of 100 concurrent calls through, with replicas sharing the counters', async () => {
    const budgets = [{ scope: 'tenant' as const, window: 'day' as const, limitUsd: perCall * 10 }];
    const first = replica({ budgets, store: open('concurrency:') });
    const second = replica({ budgets, store: open('concurrency:') });
    const calls = Array.from({ length: 100 }, (_, index) =>
      (index % 2 === 0 ? first : second).bulwark.chat(request, { metadata: { tenant: 'acme' } }),
    );
    const results = await Promise.allSettled(calls);
    const passed = results.filter((result) => result.status === 'fulfilled');
    const refused = results.filter(
      (result) => result.status === 'rejected' && BudgetExceededError.isInstance(result.reason),
    );
    expect(passed).toHaveLength(10);
    expect(refused).toHaveLength(90);
    expect(first.mock.callCount + second.mock.callCount).toBe(10);

    const [status] = await first.budget.status();
    expect(status).toMatchObject({ subject: 'acme', windowId: '2025-01-15', remainingUsd: 0 });
    expect(status!.spentUsd).toBeCloseTo(perCall * 10, 9);
    const keys = await admin.keys(`${redis.prefix}concurrency:*`);
    expect(keys).toEqual([`${redis.prefix}concurrency:spend:{budget}:v1:tenant-day:acme:2025-01-15`]);
    // The counter lives past the end of its window (2 hours away) plus a day of grace.
    const ttl = await admin.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(2 * 60 * 60 * 1000);
    expect(ttl).toBeLessThanOrEqual(26 * 60 * 60 * 1000);
  });

  it('waits for the first connection, then reserves all or nothing', async () => {
    const store = open('url:');
    // The first command is sent right after creation: it waits for the connection, not the offline queue.
    const reserved = await store.reserve([{ key: 'k', amount: 5, limit: 10, ttlMs: 60_000 }]);
    expect(reserved).toEqual({ ok: true, before: [0] });
    const refused = await store.reserve([
      { key: 'other', amount: 1, ttlMs: 60_000 },
      { key: 'k', amount: 6, limit: 10, ttlMs: 60_000 },
    ]);
    expect(refused).toEqual({ ok: false, before: [0, 5], refused: 1 });
    expect(await store.read(['k', 'other'])).toEqual([5, 0]);
    await store.add([{ key: 'k', amount: -5, ttlMs: 60_000 }]);
    expect(await store.read(['k'])).toEqual([0]);
  });

  it('runs its scripts again after SCRIPT FLUSH (defineCommand falls back to EVAL)', async () => {
    const store = open('flush:');
    await store.add([{ key: 'k', amount: 1, ttlMs: 60_000 }]);
    await admin.script('FLUSH');
    expect(await store.reserve([{ key: 'k', amount: 1, limit: 2, ttlMs: 60_000 }])).toEqual({
      ok: true,
      before: [1],
    });
  });

  it('fails fast when Redis is unreachable, and is not ready', async () => {
    const store = createRedisSpendStore({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 1000 });
    try {
      const started = Date.now();
      await expect(store.reserve([{ key: 'k', amount: 1, ttlMs: 1000 }])).rejects.toThrow();
      // At worst the one-second first-connection wait (wide for a loaded machine), never a queue.
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(await store.ready()).toBe(false);
    } finally {
      await store.close();
    }
  });
});
