import { createEventBus } from '@bulwark/core';
import type { RateDimension } from '@bulwark/limiter';
import { freePort, startRedisServer, type TestRedis, useTestRedis } from '@bulwark/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LimiterUnavailableError } from './degradation.js';
import { createRedisLimiterStore, type RedisLimiterStore } from './redis-limiter-store.js';

const perSecond = (limit: number, burst: number, name = 'requests'): RateDimension => ({
  name,
  limit,
  periodMs: 1000,
  burst,
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createRedisLimiterStore (real Redis)', () => {
  let redis: TestRedis;
  let admin: Redis;
  const stores: RedisLimiterStore[] = [];
  const open = (options: Parameters<typeof createRedisLimiterStore>[0] = {}) => {
    const store = createRedisLimiterStore({ url: redis.url, prefix: redis.prefix, ...options });
    stores.push(store);
    return store;
  };
  const ready = async (store: RedisLimiterStore) => {
    if (store.client.status !== 'ready') await new Promise((resolve) => store.client.once('ready', resolve));
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

  it('admits the burst, then refuses with the time to the next unit (T-RL1)', async () => {
    const store = open();
    await ready(store);
    const dimensions = [perSecond(10, 5)];
    const results = [];
    for (let index = 0; index < 6; index += 1) results.push(await store.acquire('t-rl1', [1], dimensions, 0));
    expect(results.slice(0, 5).every((result) => result.allowed)).toBe(true);
    expect(results[5]!.allowed).toBe(false);
    expect(results[5]!.retryAfterMs).toBeGreaterThan(50);
    expect(results[5]!.retryAfterMs).toBeLessThanOrEqual(100);
    await sleep(results[5]!.retryAfterMs + 2);
    expect(await store.acquire('t-rl1', [1], dimensions, 0)).toEqual({ allowed: true, retryAfterMs: 0 });
    expect((await store.acquire('t-rl1', [1], dimensions, 0)).allowed).toBe(false);
  });

  it('is all or nothing across dimensions and leaves the untouched keys unwritten (T-RL3)', async () => {
    const store = open();
    await ready(store);
    const dimensions = [perSecond(10, 5), perSecond(100, 100, 'tokens')];
    expect((await store.acquire('t-rl3', [0, 100], dimensions, 0)).allowed).toBe(true);
    expect(await admin.get(`${redis.prefix}limiter:v1:{t-rl3}:requests`)).toBeNull();
    const refused = await store.acquire('t-rl3', [1, 60], dimensions, 0);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(500);
    expect(await admin.get(`${redis.prefix}limiter:v1:{t-rl3}:requests`)).toBeNull();
    const ttl = await admin.pttl(`${redis.prefix}limiter:v1:{t-rl3}:tokens`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2000);
  });

  it('shares one limit between two clients and ignores the callers clocks (T-D1, T-D8)', async () => {
    const first = open();
    const second = open();
    await Promise.all([ready(first), ready(second)]);
    const dimensions = [perSecond(1, 10)];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        (index % 2 === 0 ? first : second).acquire(
          'shared',
          [1],
          dimensions,
          index % 2 === 0 ? -30_000 : 30_000,
        ),
      ),
    );
    expect(results.filter((result) => result.allowed)).toHaveLength(10);
  });

  it('adjusts both ways and pauses', async () => {
    const store = open();
    await ready(store);
    const dimensions = [perSecond(100, 100, 'tokens')];
    expect((await store.acquire('adjust', [100], dimensions, 0)).allowed).toBe(true);
    expect((await store.acquire('adjust', [50], dimensions, 0)).allowed).toBe(false);
    await store.adjust('adjust', [-60], dimensions, 0);
    expect((await store.acquire('adjust', [50], dimensions, 0)).allowed).toBe(true);
    await store.adjust('adjust', [500], dimensions, 0);
    expect((await store.acquire('adjust', [1], dimensions, 0)).retryAfterMs).toBeGreaterThan(4000);

    await store.pause('paused', 3000, [perSecond(10, 5)], 0);
    const paused = await store.acquire('paused', [1], [perSecond(10, 5)], 0);
    expect(paused.allowed).toBe(false);
    expect(paused.retryAfterMs).toBeGreaterThan(3000);
    expect(paused.retryAfterMs).toBeLessThanOrEqual(3100);
  });

  it('rejects promptly with a typed error when a key holds the wrong type (T-D9)', async () => {
    const store = open();
    await ready(store);
    await admin.hset(`${redis.prefix}limiter:v1:{corrupt}:requests`, 'field', '1');
    const error = await store
      .acquire('corrupt', [1], [perSecond(10, 5)], 0)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LimiterUnavailableError);
    expect(error).toMatchObject({ code: 'rate_limited', local: true, reason: 'script-error' });
    expect(store.degraded).toBe(false);
  });

  it('runs the script again after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const store = open();
    await ready(store);
    await admin.script('FLUSH');
    expect((await store.acquire('flushed', [1], [perSecond(10, 5)], 0)).allowed).toBe(true);
  });
});

describe('createRedisLimiterStore when Redis is unreachable', () => {
  it('fails open to a local limiter at limit ÷ replicas, evented, and recovers without restart (T-D3)', async () => {
    const port = await freePort();
    const events = createEventBus();
    const seen: string[] = [];
    events.on('store:degraded', (payload) => seen.push(`degraded:${payload.mode}`));
    events.on('store:recovered', () => seen.push('recovered'));
    const store = createRedisLimiterStore({
      url: `redis://127.0.0.1:${port}`,
      prefix: 'bulwark-test:failover:',
      expectedReplicas: 2,
      events,
    });
    try {
      const dimensions = [perSecond(10, 10)];
      const started = Date.now();
      const results = [];
      for (let index = 0; index < 6; index += 1) results.push(await store.acquire('k', [1], dimensions, 0));
      expect(Date.now() - started).toBeLessThan(500);
      // Local limiter at 10 ÷ 2: burst 5.
      expect(results.map((result) => result.allowed)).toEqual([true, true, true, true, true, false]);
      expect(store.degraded).toBe(true);
      expect(seen).toEqual(['degraded:open']);

      const server = await startRedisServer({ port });
      try {
        const deadline = Date.now() + 10_000;
        while (store.client.status !== 'ready' && Date.now() < deadline) await sleep(50);
        expect((await store.acquire('k', [1], dimensions, 0)).allowed).toBe(true);
        expect(store.degraded).toBe(false);
        expect(seen).toEqual(['degraded:open', 'recovered']);
        const inspector = new Redis(`redis://127.0.0.1:${port}`);
        const keys = await inspector.keys('bulwark-test:failover:*');
        inspector.disconnect();
        expect(keys).toEqual(['bulwark-test:failover:limiter:v1:{k}:requests']);
      } finally {
        await store.close();
        await server.stop();
      }
    } finally {
      await store.close();
    }
  });

  it('fails closed with LimiterUnavailableError within the command timeout (T-D4)', async () => {
    const port = await freePort();
    const store = createRedisLimiterStore({ url: `redis://127.0.0.1:${port}`, failMode: 'closed' });
    try {
      const started = Date.now();
      const error = await store.acquire('k', [1], [perSecond(10, 10)], 0).catch((caught: unknown) => caught);
      expect(Date.now() - started).toBeLessThan(500);
      expect(error).toBeInstanceOf(LimiterUnavailableError);
      expect(error).toMatchObject({ local: true, reason: 'unreachable', retryAfterMs: 1000 });
    } finally {
      await store.close();
    }
  });

  it('refuses a key prefix with hash-tag braces', () => {
    expect(() => createRedisLimiterStore({ prefix: 'a{b}:' })).toThrow(/prefix must not contain/);
    expect(() => createRedisLimiterStore({ keyPrefix: 'a{b}:' })).toThrow(/keyPrefix must not contain/);
  });
});
