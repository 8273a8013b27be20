import { type TestRedis, useTestRedis } from '@bulwark/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisSpendStore } from './redis-spend-store.js';

describe('createRedisSpendStore of @bulwark/usage (deprecated forwarder to @bulwark/redis-stores)', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await useTestRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('keeps working from its old place with the options of 0.1', async () => {
    const store = createRedisSpendStore({ url: redis.url, prefix: `${redis.prefix}old:` });
    try {
      expect(await store.reserve([{ key: 'k', amount: 5, limit: 10, ttlMs: 60_000 }])).toEqual({
        ok: true,
        before: [0],
      });
      expect(await store.reserve([{ key: 'k', amount: 6, limit: 10, ttlMs: 60_000 }])).toMatchObject({
        ok: false,
        refused: 0,
      });
      await store.add([{ key: 'k', amount: -1, ttlMs: 60_000 }]);
      expect(await store.read(['k'])).toEqual([4]);
    } finally {
      await store.close?.();
    }
  });

  it('still asks for a client or a URL', () => {
    expect(() => createRedisSpendStore({})).toThrow(/needs `redis` \(an ioredis client\) or `url`/);
  });
});
