import { describe, expect, it } from 'vitest';
import { ConfigError, PluginNotFoundError } from '../errors/errors.js';
import type { PluginDescriptor, StoreBaseV1 } from './plugin.js';
import { createPluginRegistry, suggestedPackage } from './plugin-registry.js';
import { createConfiguredStore, type StoreConfig } from './store-config.js';

const anyConfig = {
  '~standard': { version: 1 as const, vendor: 'test', validate: (value: unknown) => ({ value }) },
};

describe('store plugin kinds', () => {
  it('suggests the package of each store kind', () => {
    expect(suggestedPackage('limiter-store', 'redis')).toBe('@bulwark/redis-stores');
    expect(suggestedPackage('breaker-store', 'redis')).toBe('@bulwark/redis-stores');
    expect(suggestedPackage('spend-store', 'redis')).toBe('@bulwark/redis-stores');
    expect(suggestedPackage('limiter-store', 'memory')).toBe('@bulwark/limiter');
    expect(suggestedPackage('breaker-store', 'memory')).toBe('@bulwark/breaker');
    expect(suggestedPackage('spend-store', 'memory')).toBe('@bulwark/usage');
    expect(suggestedPackage('spend-store', '@acme/spend')).toBe('@acme/spend');
  });

  it('keeps one plugin per kind: the same name under two kinds are two plugins', async () => {
    const made = (kind: 'limiter-store' | 'breaker-store'): PluginDescriptor<typeof kind> => ({
      specificationVersion: 'v1',
      kind,
      name: 'shared',
      configSchema: anyConfig,
      create: (): StoreBaseV1 & { kind: string } => ({ specificationVersion: 'v1', kind }),
    });
    const registry = createPluginRegistry({ plugins: [made('limiter-store'), made('breaker-store')] });
    expect(await registry.create('limiter-store', 'shared', {}, 'limiter.store')).toMatchObject({
      kind: 'limiter-store',
    });
    expect(await registry.create('breaker-store', 'shared', {}, 'breaker.store')).toMatchObject({
      kind: 'breaker-store',
    });
    const error = await registry
      .create('spend-store', 'shared', {}, 'budget.store')
      .catch((caught: unknown) => caught);
    expect(PluginNotFoundError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/No spend-store plugin named "shared"/);
    expect((error as Error).message).toMatch(/@bulwark\/shared-stores/);
  });
});

describe('createConfiguredStore', () => {
  const created: unknown[] = [];
  const registry = createPluginRegistry({
    plugins: [
      {
        specificationVersion: 'v1',
        kind: 'limiter-store',
        name: 'shared',
        configSchema: anyConfig,
        create: (config: unknown) => {
          created.push(config);
          return { specificationVersion: 'v1' };
        },
      },
      {
        specificationVersion: 'v1',
        kind: 'middleware',
        name: 'uses-store',
        configSchema: anyConfig,
        async create(config: { store?: StoreConfig }, context) {
          const store = await createConfiguredStore(context, 'limiter-store', config.store);
          return { specificationVersion: 'v1', name: 'uses-store', stage: 'limiter', store } as never;
        },
      },
    ],
  });

  it('creates the named plugin of the kind with the other keys as its config, at <path>.store', async () => {
    const instance = await registry.create(
      'middleware',
      'uses-store',
      { store: { plugin: 'shared', url: 'redis://127.0.0.1:6379', prefix: 'app:' } },
      'limiter',
    );
    expect(created).toEqual([{ url: 'redis://127.0.0.1:6379', prefix: 'app:' }]);
    expect(instance).toMatchObject({ store: { specificationVersion: 'v1' } });
  });

  it('answers undefined for memory or no store, and refuses options on memory', async () => {
    expect(await registry.create('middleware', 'uses-store', {}, 'limiter')).toMatchObject({
      store: undefined,
    });
    expect(
      await registry.create('middleware', 'uses-store', { store: { plugin: 'memory' } }, 'limiter'),
    ).toMatchObject({ store: undefined });
    const error = await registry
      .create('middleware', 'uses-store', { store: { plugin: 'memory', url: 'redis://x' } }, 'limiter')
      .catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ path: 'limiter.store.url' });
  });

  it('names the store kind and the package to install for an unknown store', async () => {
    await expect(
      registry.create('middleware', 'uses-store', { store: { plugin: 'redis' } }, 'limiter'),
    ).rejects.toThrow(/No limiter-store plugin named "redis".*@bulwark\/redis-stores/);
  });
});
