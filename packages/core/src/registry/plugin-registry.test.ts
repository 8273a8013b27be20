import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, PluginNotFoundError } from '../errors/errors.js';
import type { PluginDescriptor } from './plugin.js';
import { createPluginRegistry, validateConfig } from './plugin-registry.js';

const cachePlugin: PluginDescriptor<'cache', { maxBytes: number; ttlSeconds: number }> = {
  specificationVersion: 'v1',
  kind: 'cache',
  name: 'tiny',
  configSchema: z.object({
    maxBytes: z.number().int().positive(),
    ttlSeconds: z.number().positive().default(60),
  }),
  create: (config) => {
    const entries = new Map<string, Uint8Array>();
    return {
      specificationVersion: 'v1',
      name: `tiny-${config.maxBytes}`,
      get: (namespace, key) => entries.get(`${namespace}:${key}`),
      set: (namespace, key, value) => void entries.set(`${namespace}:${key}`, value),
      delete: (namespace, key) => entries.delete(`${namespace}:${key}`),
      clear: () => entries.clear(),
    };
  },
};

describe('plugin registry', () => {
  it('validates config with the plugin schema and creates the instance', async () => {
    const registry = createPluginRegistry({ plugins: [cachePlugin] });
    const cache = await registry.create('cache', 'tiny', { maxBytes: 1024 }, 'cache');
    expect(cache.name).toBe('tiny-1024');
  });

  it('reports every instance it creates, those a plugin creates through its context included', async () => {
    const wrapper: PluginDescriptor<'middleware', { size: number }> = {
      specificationVersion: 'v1',
      kind: 'middleware',
      name: 'wrapper',
      configSchema: z.object({ size: z.number() }),
      create: async (config, context) => {
        const backend = await context.create(
          'cache',
          'tiny',
          { maxBytes: config.size },
          `${context.path}.backend`,
        );
        return { specificationVersion: 'v1', name: `wraps-${backend.name}` };
      },
    };
    const seen: Array<[string, string, string]> = [];
    const registry = createPluginRegistry({
      plugins: [cachePlugin, wrapper],
      onCreate: (instance, kind, path) => seen.push([kind, path, (instance as { name: string }).name]),
    });
    await registry.create('middleware', 'wrapper', { size: 64 }, 'cache');
    expect(seen).toEqual([
      ['cache', 'cache.backend', 'tiny-64'],
      ['middleware', 'cache', 'wraps-tiny-64'],
    ]);
  });

  it('names the exact path and the expectation of a bad value', async () => {
    const registry = createPluginRegistry({ plugins: [cachePlugin] });
    let caught: unknown;
    try {
      await registry.create('cache', 'tiny', { maxBytes: -5, ttlSeconds: 'soon' }, 'cache');
    } catch (error) {
      caught = error;
    }
    expect(ConfigError.isInstance(caught)).toBe(true);
    const error = caught as ConfigError;
    expect(error.issues.map((issue) => issue.path)).toEqual(['cache.maxBytes', 'cache.ttlSeconds']);
    expect(error.message).toMatch(/cache\.maxBytes: .*>\s*0/);
    expect(error.message).toMatch(/cache\.ttlSeconds: .*number/);
  });

  it('formats nested array paths the way configs are written', async () => {
    const schema = z.object({ targets: z.array(z.object({ provider: z.string() })) });
    await expect(
      validateConfig(schema, { targets: [{ provider: 'a' }, { provider: 3 }] }, 'models.smart'),
    ).rejects.toSatisfy((error) => (error as ConfigError).path === 'models.smart.targets[1].provider');
  });

  it('lists what is registered and which package to install for an unknown plugin', () => {
    const registry = createPluginRegistry({ plugins: [cachePlugin] });
    expect(() => registry.get('cache', 'redis')).toThrow(
      /No cache plugin named "redis". Registered: tiny.*pnpm add @bulwark\/cache-redis/,
    );
    try {
      registry.get('provider', 'gemini');
    } catch (error) {
      expect(PluginNotFoundError.isInstance(error) && error.packageName).toBe('@bulwark/provider-gemini');
    }
  });

  it('says which package to install when a plugin package is missing', async () => {
    const registry = createPluginRegistry();
    await expect(registry.load('@bulwark/provider-does-not-exist')).rejects.toSatisfy(
      (error) =>
        PluginNotFoundError.isInstance(error) &&
        error.packageName === '@bulwark/provider-does-not-exist' &&
        error.message.includes('pnpm add @bulwark/provider-does-not-exist'),
    );
  });

  it('loads plugins a package exports, importing only when asked', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'bulwark-plugin-'));
    const file = join(directory, 'plugin.mjs');
    writeFileSync(
      file,
      `export const plugins = [{ specificationVersion: 'v1', kind: 'middleware', name: 'noop',
         configSchema: { '~standard': { version: 1, vendor: 'test', validate: (value) => ({ value }) } },
         create: () => ({ specificationVersion: 'v1', name: 'noop' }) }];`,
    );
    const registry = createPluginRegistry();
    expect(registry.has('middleware', 'noop')).toBe(false);
    const loaded = await registry.load(pathToFileURL(file).href);
    expect(loaded.map((plugin) => plugin.name)).toEqual(['noop']);
    expect(registry.has('middleware', 'noop')).toBe(true);
  });

  it('with an importer, loads the conventional package of a plugin it does not know, once', async () => {
    const imported: string[] = [];
    const registry = createPluginRegistry({
      importer: async (specifier) => {
        imported.push(specifier);
        if (specifier === '@bulwark/cache-tiny') return { plugin: cachePlugin };
        throw Object.assign(new Error(`Cannot find package '${specifier}'`), {
          code: 'ERR_MODULE_NOT_FOUND',
        });
      },
    });
    const cache = await registry.create('cache', 'tiny', { maxBytes: 8 }, 'cache');
    expect(cache.name).toBe('tiny-8');
    await expect(registry.create('middleware', 'absent', {}, 'middleware[0]')).rejects.toSatisfy(
      (error) =>
        PluginNotFoundError.isInstance(error) &&
        error.message.includes('No middleware plugin named "absent"') &&
        error.message.includes('@bulwark/absent'),
    );
    await expect(registry.create('middleware', 'absent', {}, 'middleware[0]')).rejects.toThrow(/absent/);
    expect(imported).toEqual(['@bulwark/cache-tiny', '@bulwark/absent']);
  });

  it('hands the host providers and models to every plugin context', async () => {
    const seen: unknown[] = [];
    const probe: PluginDescriptor<'middleware', unknown> = {
      specificationVersion: 'v1',
      kind: 'middleware',
      name: 'probe',
      configSchema: z.unknown(),
      create: (_config, context) => {
        seen.push(
          [...(context.providers?.keys() ?? [])],
          context.providers?.get('main')?.limits,
          context.models,
        );
        return { specificationVersion: 'v1', name: 'probe' };
      },
    };
    const providers = new Map();
    const models = { smart: { targets: [{ provider: 'main', model: 'm' }] } };
    const registry = createPluginRegistry({ plugins: [probe], providers, models });
    providers.set('main', { instance: {}, plugin: 'mock', limits: { rpm: 5 } });
    await registry.create('middleware', 'probe', {}, 'probe');
    expect(seen).toEqual([['main'], { rpm: 5 }, models]);
  });

  it('refuses a package that exports no plugin', async () => {
    const registry = createPluginRegistry();
    await expect(registry.load('node:path')).rejects.toThrow(/exports no Bulwark plugin/);
  });
});
