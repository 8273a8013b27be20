import {
  ConfigError,
  createBulwark,
  createPluginRegistry,
  createVirtualClock,
  RateLimitError,
} from '@bulwark/core';
import { createMockProvider } from '@bulwark/provider-mock';
import { describe, expect, it } from 'vitest';
import type { LimiterStoreV1 } from './limiter-store.js';
import { createMemoryLimiterStore } from './memory-limiter-store.js';
import { plugin } from './plugin.js';
import type { RateLimiter } from './rate-limiter.js';

describe('limiter plugin', () => {
  it('creates the middleware from gateway config', async () => {
    const registry = createPluginRegistry({ plugins: [plugin], clock: createVirtualClock() });
    const limiter = (await registry.create(
      'middleware',
      'limiter',
      { limits: { main: { rpm: 600, tpm: 200_000 } }, maxQueue: 10 },
      'limiter',
    )) as RateLimiter;
    expect(limiter).toMatchObject({ specificationVersion: 'v1', name: 'limiter', stage: 'limiter' });
    expect(limiter.stats().queueLength).toBe(0);
  });

  it("reads each provider's limits from the host's providers, and names a bad one by its place", async () => {
    const providers = new Map([
      ['main', { instance: {} as never, plugin: 'mock', limits: { rpm: 1 } }],
      ['other', { instance: {} as never, plugin: 'mock', limits: { rpm: 'fast' } }],
    ]);
    const registry = createPluginRegistry({ plugins: [plugin], clock: createVirtualClock(), providers });
    await expect(registry.create('middleware', 'limiter', {}, 'limiter')).rejects.toThrow(
      /providers\.other\.limits\.rpm/,
    );
    providers.delete('other');
    const limiter = (await registry.create(
      'middleware',
      'limiter',
      { maxWaitMs: 0 },
      'limiter',
    )) as RateLimiter;
    const bulwark = createBulwark({
      providers: [createMockProvider({ name: 'main' })],
      middleware: [limiter],
    });
    const request = { model: 'main/model-a', messages: [{ role: 'user' as const, content: 'hi' }] };
    await bulwark.chat(request);
    await expect(bulwark.chat(request)).rejects.toSatisfy(RateLimitError.isInstance);
    await limiter.close();
  });

  it('names the bad field', async () => {
    const registry = createPluginRegistry({ plugins: [plugin] });
    const error = await registry
      .create('middleware', 'limiter', { maxQueue: -1, limits: { main: { rpm: 'fast' } } }, 'limiter')
      .catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(error)).toBe(true);
    const paths = (error as ConfigError).issues.map((issue) => issue.path);
    expect(paths).toContain('limiter.maxQueue');
    expect(paths).toContain('limiter.limits.main.rpm');
  });

  it('creates the named limiter-store plugin with the store settings', async () => {
    const received: unknown[] = [];
    const registry = createPluginRegistry({
      plugins: [
        plugin,
        {
          specificationVersion: 'v1',
          kind: 'limiter-store',
          name: 'shared',
          configSchema: {
            '~standard': { version: 1, vendor: 'test', validate: (value: unknown) => ({ value }) },
          },
          create(config: unknown): LimiterStoreV1 {
            received.push(config);
            return createMemoryLimiterStore();
          },
        },
      ],
    });
    await registry.create(
      'middleware',
      'limiter',
      {
        store: {
          plugin: 'shared',
          url: 'redis://127.0.0.1:6379',
          prefix: 'app:',
          failMode: 'closed',
          expectedReplicas: 3,
        },
      },
      'limiter',
    );
    expect(received).toEqual([
      { url: 'redis://127.0.0.1:6379', prefix: 'app:', failMode: 'closed', expectedReplicas: 3 },
    ]);
  });

  it('says which package to install for an unknown store', async () => {
    const registry = createPluginRegistry({ plugins: [plugin] });
    await expect(
      registry.create('middleware', 'limiter', { store: { plugin: 'redis' } }, 'limiter'),
    ).rejects.toThrow(/No limiter-store plugin named "redis".*@bulwark\/redis-stores/);
  });

  it('names the new place of the settings of 0.1 (store: redis, url, keyPrefix)', async () => {
    const registry = createPluginRegistry({ plugins: [plugin] });
    const error = await registry
      .create('middleware', 'limiter', { store: 'redis', url: 'redis://x', keyPrefix: 'a:' }, 'limiter')
      .catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(error)).toBe(true);
    const messages = (error as ConfigError).issues.map((issue) => `${issue.path}: ${issue.message}`);
    expect(messages).toContain(
      'limiter.store: store must be an object: { plugin: memory } or { plugin: redis, url, prefix }',
    );
    expect(messages.join('\n')).toMatch(
      /limiter\.url: url moved into the store: write store: \{ plugin: redis/,
    );
    expect(messages.join('\n')).toMatch(/limiter\.keyPrefix: keyPrefix moved/);
  });
});
