import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBulwark } from '../client/create-bulwark.js';
import { ConfigError } from '../errors/errors.js';
import { coreVersion } from './core-version.js';
import type { PluginDescriptor } from './plugin.js';
import { createPluginRegistry } from './plugin-registry.js';
import { satisfiesRange } from './version-range.js';

const middleware = (overrides: Record<string, unknown> = {}) =>
  ({
    specificationVersion: 'v1',
    kind: 'middleware',
    name: 'probe',
    packageName: '@acme/bulwark-probe',
    configSchema: z.object({}),
    create: () => ({
      specificationVersion: 'v1',
      name: 'probe',
      wrapCall: (_context: unknown, next: () => unknown) => next(),
    }),
    ...overrides,
  }) as PluginDescriptor<'middleware'>;

async function configErrorOf(action: () => unknown): Promise<ConfigError> {
  try {
    await action();
  } catch (error) {
    expect(ConfigError.isInstance(error)).toBe(true);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('plugin contract and core versions', () => {
  it("core's version constant is package.json's version", () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(coreVersion).toBe(manifest.version);
  });

  it('register() of another contract version names the plugin, its package, both versions and what to upgrade', async () => {
    const registry = createPluginRegistry();
    const error = await configErrorOf(() => registry.register(middleware({ specificationVersion: 'v2' })));
    expect(error.path).toBe('plugins');
    expect(error.message).toContain('middleware plugin "probe" of package "@acme/bulwark-probe"');
    expect(error.message).toContain('implements plugin contract v2');
    expect(error.message).toContain(`@bulwark/core ${coreVersion} implements v1`);
    expect(error.message).toMatch(/upgrade @bulwark\/core \(and @bulwark\/gateway\)/);
  });

  it('load() of a package built for another contract says so instead of "exports no plugin"', async () => {
    const registry = createPluginRegistry();
    const error = await configErrorOf(() =>
      registry.load('@acme/bulwark-next', async () => ({
        plugin: middleware({ specificationVersion: 'v2', packageName: undefined }),
      })),
    );
    expect(error.message).toContain('of package "@acme/bulwark-next" implements plugin contract v2');
    expect(error.message).not.toContain('exports no Bulwark plugin');
    expect(registry.has('middleware', 'probe')).toBe(false);
  });

  it('register() of something that is no descriptor says what it got', async () => {
    const registry = createPluginRegistry();
    expect((await configErrorOf(() => registry.register('probe' as never))).message).toContain('a string');
    expect((await configErrorOf(() => registry.register({ name: 'x' } as never))).message).toContain(
      'needs kind, name, create and specificationVersion',
    );
  });

  it('a plugin whose coreRange holds the loaded core registers', () => {
    const registry = createPluginRegistry();
    registry.register(middleware({ coreRange: `^${coreVersion}` }));
    expect(registry.has('middleware', 'probe')).toBe(true);
  });

  it('a plugin built for another core is refused at registration, naming the range, the core and the package', async () => {
    const registry = createPluginRegistry();
    const error = await configErrorOf(() =>
      registry.load('@acme/bulwark-probe', async () => ({ plugin: middleware({ coreRange: '^9.0.0' }) })),
    );
    expect(error.message).toContain(
      `was built for @bulwark/core ^9.0.0, but the loaded @bulwark/core is ${coreVersion}`,
    );
    expect(error.message).toContain('a release of @acme/bulwark-probe built for');
    expect(registry.has('middleware', 'probe')).toBe(false);
  });

  it('createBulwark() with a provider of another contract names both versions', async () => {
    const provider = { specificationVersion: 'v2', name: 'next', complete: async () => ({}) };
    const error = await configErrorOf(() =>
      createBulwark({ providers: [provider as never], models: { m: [{ provider: 'next', model: 'x' }] } }),
    );
    expect(error.path).toBe('providers.next');
    expect(error.message).toContain(
      `implements provider contract v2, and @bulwark/core ${coreVersion} implements v1`,
    );
  });

  it('load() of an installed plugin whose SDK is missing names the SDK, not the plugin, as not installed', async () => {
    const registry = createPluginRegistry();
    const missing = (specifier: string) =>
      Object.assign(
        new Error(`Cannot find package '${specifier}' imported from /app/node_modules/x/dist/index.js`),
        {
          code: 'ERR_MODULE_NOT_FOUND',
        },
      );
    const error = await configErrorOf(() =>
      registry.load('@bulwark/provider-openai', async () => {
        throw missing('openai');
      }),
    );
    expect(error.message).toContain(
      'Plugin package "@bulwark/provider-openai" needs "openai", which is not installed',
    );
    await expect(
      registry.load('@acme/absent', async () => {
        throw missing('@acme/absent');
      }),
    ).rejects.toThrow('Plugin package "@acme/absent" is not installed');
  });

  it('an unreadable coreRange is reported, not guessed', async () => {
    const registry = createPluginRegistry();
    const error = await configErrorOf(() => registry.register(middleware({ coreRange: 'latest' })));
    expect(error.message).toContain('declares coreRange "latest", which is not a version range');
  });
});

describe('satisfiesRange', () => {
  it.each([
    ['0.1.0', '^0.1.0', true],
    ['0.1.7', '^0.1.0', true],
    ['0.2.0', '^0.1.0', false],
    ['0.0.3', '^0.0.3', true],
    ['0.0.4', '^0.0.3', false],
    ['1.4.0', '^1.2.0', true],
    ['2.0.0', '^1.2.0', false],
    ['1.2.9', '~1.2.0', true],
    ['1.3.0', '~1.2.0', false],
    ['0.5.0', '>=0.1.0 <1', true],
    ['1.0.0', '>=0.1.0 <1', false],
    ['0.1.0', '>= 0.1.0 < 0.2.0', true],
    ['3.0.0', '^1.0.0 || ^3.0.0', true],
    ['2.0.0', '^1.0.0 || ^3.0.0', false],
    ['1.9.9', '1.x', true],
    ['2.0.0', '1.x', false],
    ['7.1.2', '*', true],
    ['0.1.0', '0.1.0', true],
    ['0.1.1', '0.1.0', false],
    ['0.1.0-beta.1', '^0.1.0', true],
  ])('%s in %s → %s', (version, range, expected) => {
    expect(satisfiesRange(version, range)).toBe(expected);
  });

  it('returns undefined for what it does not understand', () => {
    expect(satisfiesRange('0.1.0', 'latest')).toBeUndefined();
    expect(satisfiesRange('next', '^0.1.0')).toBeUndefined();
  });
});
