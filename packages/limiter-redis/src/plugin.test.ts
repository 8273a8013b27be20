import { plugin as breakerPlugin } from '@bulwark/breaker';
import { createBulwark, createPluginRegistry, type MiddlewareV1 } from '@bulwark/core';
import { plugin as limiterPlugin } from '@bulwark/limiter';
import { createOpenAIProvider } from '@bulwark/provider-openai';
import { createFakeUpstream, type FakeUpstream, type TestRedis, useTestRedis } from '@bulwark/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisStore, plugin as redisPlugin } from './plugin.js';

describe('redis store plugin (gateway config)', () => {
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
    const registry = createPluginRegistry({ plugins: [limiterPlugin, breakerPlugin, redisPlugin] });
    const storeOptions = { url: redis.url, keyPrefix: redis.prefix };
    const breaker = await registry.create(
      'middleware',
      'breaker',
      { failureThreshold: 1, cooldownMs: 60_000, store: 'redis', storeOptions },
      'breaker',
    );
    const limiter = (await registry.create(
      'middleware',
      'limiter',
      { store: 'redis', ...storeOptions, maxWaitMs: 100, limits: { main: { rpm: 60, requestBurst: 1 } } },
      'limiter',
    )) as MiddlewareV1 & { close(): Promise<void> };
    closers.push(() => limiter.close());
    const provider = createOpenAIProvider({
      name: 'main',
      baseURL: upstream.openaiBaseURL,
      apiKey: 'sk-test-plugin',
    });
    return createBulwark({ providers: [provider], middleware: [breaker, limiter] });
  }

  it('validates its config and names the field', async () => {
    const registry = createPluginRegistry({ plugins: [redisPlugin] });
    await expect(registry.create('store', 'redis', { keyPrefix: 'a{b}' }, 'limiter.store')).rejects.toThrow(
      /limiter\.store\.keyPrefix/,
    );
    const store = (await registry.create(
      'store',
      'redis',
      { url: redis.url },
      'limiter.store',
    )) as RedisStore;
    await store.close();
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
