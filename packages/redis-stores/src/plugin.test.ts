import { plugin as breakerPlugin } from '@bulwark/breaker';
import { createBulwark, createPluginRegistry, type MiddlewareV1 } from '@bulwark/core';
import { plugin as limiterPlugin } from '@bulwark/limiter';
import { createOpenAIProvider } from '@bulwark/provider-openai';
import { createFakeUpstream, type FakeUpstream, type TestRedis, useTestRedis } from '@bulwark/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plugins as redisPlugins } from './plugin.js';
import type { RedisBreakerStore } from './redis-breaker-store.js';
import type { RedisLimiterStore } from './redis-limiter-store.js';
import type { RedisSpendStore } from './redis-spend-store.js';

describe('redis store plugins (gateway config)', () => {
  let redis: TestRedis;
  let upstream: FakeUpstream;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    redis = await useTestRedis();
    upstream = await createFakeUpstream();
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await upstream.close();
    await redis.stop();
  });

  /** One replica as the gateway would build it: breaker and limiter from config, both on the redis store. */
  async function replica() {
    const stores: Array<{ close(): Promise<void> }> = [];
    const registry = createPluginRegistry({
      plugins: [limiterPlugin, breakerPlugin, ...redisPlugins],
      onCreate: (instance, kind) => {
        if (kind.endsWith('-store')) stores.push(instance as { close(): Promise<void> });
      },
    });
    // One idiom for every store: the same object for the limiter and the breaker.
    const store = { plugin: 'redis', url: redis.url, prefix: redis.prefix };
    const breaker = await registry.create(
      'middleware',
      'breaker',
      { failureThreshold: 1, cooldownMs: 60_000, store },
      'breaker',
    );
    const limiter = (await registry.create(
      'middleware',
      'limiter',
      { store, maxWaitMs: 100, limits: { main: { rpm: 60, requestBurst: 1 } } },
      'limiter',
    )) as MiddlewareV1 & { close(): Promise<void> };
    closers.push(() => limiter.close());
    closers.push(async () => {
      for (const created of stores) await created.close();
    });
    expect(stores).toHaveLength(2);
    const provider = createOpenAIProvider({
      name: 'main',
      baseURL: upstream.openaiBaseURL,
      apiKey: 'sk-test-plugin',
    });
    return createBulwark({ providers: [provider], middleware: [breaker, limiter] });
  }

  it('creates one store per kind, validates its config and names the field', async () => {
    const registry = createPluginRegistry({ plugins: [...redisPlugins] });
    await expect(
      registry.create('limiter-store', 'redis', { prefix: 'a{b}' }, 'limiter.store'),
    ).rejects.toThrow(/limiter\.store\.prefix: must not contain/);
    await expect(
      registry.create('breaker-store', 'redis', { keyPrefix: 'a:' }, 'breaker.store'),
    ).rejects.toThrow(/breaker\.store\.keyPrefix: keyPrefix is now prefix/);
    await expect(
      registry.create('spend-store', 'redis', { failMode: 'open' }, 'budget.store'),
    ).rejects.toThrow(/budget\.store/);
    const options = { url: redis.url, prefix: redis.prefix };
    const limiterStore = (await registry.create(
      'limiter-store',
      'redis',
      { ...options, failMode: 'closed' },
      'limiter.store',
    )) as RedisLimiterStore;
    const breakerStore = (await registry.create(
      'breaker-store',
      'redis',
      options,
      'breaker.store',
    )) as RedisBreakerStore;
    const spendStore = (await registry.create(
      'spend-store',
      'redis',
      options,
      'budget.store',
    )) as RedisSpendStore;
    try {
      // Each is the store of its kind only: no object guesses its role from its arguments.
      expect(typeof limiterStore.pause).toBe('function');
      expect('record' in limiterStore).toBe(false);
      expect('pause' in breakerStore).toBe(false);
      expect(typeof breakerStore.record).toBe('function');
      expect(typeof spendStore.reserve).toBe('function');
      await spendStore.reserve([{ key: 'ready', amount: 1, ttlMs: 60_000 }]);
      expect(await limiterStore.ready()).toBe(true);
      expect(await breakerStore.ready()).toBe(true);
      expect(await spendStore.ready()).toBe(true);
    } finally {
      await limiterStore.close();
      await breakerStore.close();
      await spendStore.close();
    }
    expect(await spendStore.ready()).toBe(false);
  });

  it('shares the limit and the open circuit between two replicas', async () => {
    const first = await replica();
    const second = await replica();
    const request = { model: 'main/gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };

    await first.chat(request);
    // One request per second, shared: the other replica's call would wait ~1 s > maxWaitMs.
    const limited = await second.chat(request).catch((caught: unknown) => caught);
    expect(limited).toMatchObject({ code: 'rate_limited', local: true });

    await new Promise((resolve) => setTimeout(resolve, 1100));
    upstream.enqueue({ kind: 'status', status: 500 });
    await expect(second.chat({ ...request, model: 'main/gpt-4o' })).rejects.toMatchObject({
      code: 'server_error',
    });
    const requestsBefore = upstream.stats.requests;
    // The circuit of main/gpt-4o opened on the second replica; the first refuses without calling upstream.
    await expect(first.chat({ ...request, model: 'main/gpt-4o' })).rejects.toMatchObject({
      code: 'breaker_open',
    });
    expect(upstream.stats.requests).toBe(requestsBefore);
  });
});
