import { createCircuitBreaker } from '@bulwark/breaker';
import { createBulwark } from '@bulwark/core';
import { createRateLimiter } from '@bulwark/limiter';
import { createMockProvider } from '@bulwark/provider-mock';
import { useTestRedis } from '@bulwark/testkit';
import { createBudget } from '@bulwark/usage';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { createRedisBreakerStore, createRedisLimiterStore, createRedisSpendStore } from './index.js';

it('runs the README example', async () => {
  const testRedis = await useTestRedis();
  try {
    // The README's code, on the test Redis and its prefix.
    const redis = { url: testRedis.url, prefix: testRedis.prefix };
    const limiterStore = createRedisLimiterStore({ ...redis, failMode: 'open', expectedReplicas: 3 });
    const breakerStore = createRedisBreakerStore(redis);
    const spendStore = createRedisSpendStore(redis);

    const bulwark = createBulwark({
      providers: [createMockProvider({ name: 'main' })],
      middleware: [
        createBudget({
          store: spendStore,
          prices: { prices: { 'main/mock-model': { input: 1, output: 2 } } },
          budgets: [{ scope: 'global', window: 'day', limitUsd: 10 }],
        }),
        createCircuitBreaker({ store: breakerStore }),
        createRateLimiter({ limits: { main: { rpm: 600 } }, store: limiterStore }),
      ],
    });

    const answer = await bulwark.chat({
      model: 'main/mock-model',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(answer.text.length).toBeGreaterThan(0);
    expect(await limiterStore.ready()).toBe(true);

    const admin = new Redis(testRedis.url);
    const keys = (await admin.keys(`${testRedis.prefix}*`)).map((key) => key.slice(testRedis.prefix.length));
    admin.disconnect();
    // One prefix, three stores, each under its role.
    expect(keys.some((key) => key.startsWith('limiter:v1:{main/mock-model}:'))).toBe(true);
    expect(keys).toContain('breaker:v1:{main/mock-model}');
    expect(keys.some((key) => key.startsWith('spend:{budget}:v1:global-day:'))).toBe(true);

    await bulwark.close();
    await Promise.all([limiterStore.close(), breakerStore.close(), spendStore.close()]);
  } finally {
    await testRedis.stop();
  }
});
