import { createPluginRegistry } from '@bulwark/core';
import type { RateDimension } from '@bulwark/limiter';
import { type TestRedis, useTestRedis } from '@bulwark/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRedisBreakerStore,
  createRedisLimiterStore,
  LimiterUnavailableError,
  plugins,
} from './index.js';

const perSecond: RateDimension = { name: 'requests', limit: 10, periodMs: 1000, burst: 2 };

describe('@bulwark/limiter-redis (deprecated re-export of @bulwark/redis-stores)', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await useTestRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('keeps the factories of 0.1 working, keyPrefix included', async () => {
    const store = createRedisLimiterStore({ url: redis.url, keyPrefix: `${redis.prefix}old:` });
    try {
      const results = [];
      for (let index = 0; index < 3; index += 1) results.push(await store.acquire('k', [1], [perSecond], 0));
      expect(results.map((result) => result.allowed)).toEqual([true, true, false]);
      expect(await store.ready()).toBe(true);
    } finally {
      await store.close();
    }
    const breaker = createRedisBreakerStore({ url: redis.url, prefix: redis.prefix });
    await breaker.close();
    expect(new LimiterUnavailableError({ reason: 'unreachable' }).local).toBe(true);
  });

  it('registers one store plugin per kind through registry.load', async () => {
    const registry = createPluginRegistry();
    await registry.load('@bulwark/limiter-redis', async () => ({ plugins }));
    expect(registry.list().map((plugin) => `${plugin.kind}:${plugin.name}`)).toEqual([
      'limiter-store:redis',
      'breaker-store:redis',
      'spend-store:redis',
    ]);
  });
});
