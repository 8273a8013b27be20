import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, createEventBus, type PluginDescriptor, silentLogger, systemClock } from '@bulwark/core';
import { echoProviderPlugin } from '@bulwark/testkit/scenarios';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createGateway } from '../gateway.js';
import { buildPlan } from '../plan/build-plan.js';
import {
  configMaxBytesFrom,
  defaultConfigMaxBytes,
  loadConfigFile,
  parseConfigText,
  readConfigFile,
  substituteEnv,
  validateGatewayConfig,
} from './load-config.js';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (ConfigError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config loading', () => {
  const directory = mkdtempSync(join(tmpdir(), 'bulwark-config-'));

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
  it('reads YAML and JSON files with ${env:NAME} substitution', () => {
    const yamlFile = join(directory, 'gateway.yaml');
    writeFileSync(
      yamlFile,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
      'server: { port: 9999 }\nproviders:\n  main: { plugin: openai, apiKey: "${env:KEY_FOR_TEST}", baseURL: "http://127.0.0.1:1/v1" }\n',
    );
    const fromYaml = loadConfigFile(yamlFile, { KEY_FOR_TEST: 'sk-test-abc123456' });
    expect(fromYaml.server).toMatchObject({ host: '127.0.0.1', port: 9999, bodyLimit: 10 * 1024 * 1024 });
    expect(fromYaml.providers.main).toMatchObject({ apiKey: 'sk-test-abc123456' });
    const jsonFile = join(directory, 'gateway.json');
    writeFileSync(
      jsonFile,
      JSON.stringify({ server: { bodyLimit: '2mb' }, providers: { m: { plugin: 'mock' } } }),
    );
    expect(loadConfigFile(jsonFile, {}).server.bodyLimit).toBe(2 * 1024 * 1024);
  });

  it('names a missing environment variable and where it is used', () => {
    const error = configError(() =>
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
      substituteEnv({ providers: { main: { apiKey: '${env:NOT_SET_ANYWHERE}' } } }, {}),
    );
    expect(error.path).toBe('providers.main.apiKey');
    expect(error.message).toContain('NOT_SET_ANYWHERE');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
    expect(substituteEnv({ a: '${env:NOT_SET:-fallback}' }, {})).toEqual({ a: 'fallback' });
  });

  it('reports every problem with its path, the bad value and what was expected', () => {
    const error = configError(() =>
      validateGatewayConfig({
        server: { port: 'eighty', bodyLimit: 'lots', hots: 1 },
        providers: { main: { plugin: 'mock' } },
        models: { smart: [{ provider: 'main' }] },
        limiter: { store: 7 },
      }),
    );
    const lines = error.issues.map((issue) => issue.message);
    expect(lines).toContainEqual(expect.stringMatching(/^server\.port: got "eighty"; expected number/));
    expect(lines).toContainEqual(expect.stringMatching(/^server\.bodyLimit: got "lots"; expected .*10mb/));
    expect(lines).toContainEqual(expect.stringMatching(/^server\.hots: got 1; expected no such key/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^models\.smart\[0\]\.model: got undefined; expected string/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^limiter\.store: got 7; expected an object such as \{ plugin: redis, url, prefix \}/,
      ),
    );
  });

  it('refuses a config file over the size cap without reading it, naming the file and the limit', () => {
    expect(defaultConfigMaxBytes).toBe(1024 * 1024);
    const file = join(directory, 'huge.yaml');
    // A sparse 3 GB file: the cap must be checked before anything is read.
    const descriptor = openSync(file, 'w');
    writeSync(descriptor, 'x', 3 * 1024 ** 3);
    closeSync(descriptor);
    const before = process.memoryUsage().rss;
    let error: ConfigError;
    try {
      error = configError(() => loadConfigFile(file, {}));
    } finally {
      rmSync(file);
    }
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    expect(error.message).toContain(file);
    expect(error.message).toContain(`${3 * 1024 ** 3 + 1} bytes, over the limit of 1048576 bytes`);
    expect(error.message).toContain('BULWARK_CONFIG_MAX_BYTES');
  });

  it('takes the cap from BULWARK_CONFIG_MAX_BYTES and applies it to the bytes read too', () => {
    const file = join(directory, 'small.yaml');
    writeFileSync(file, 'providers: { main: { plugin: mock } }\n');
    expect(loadConfigFile(file, { BULWARK_CONFIG_MAX_BYTES: '64' }).providers.main?.plugin).toBe('mock');
    expect(() => loadConfigFile(file, { BULWARK_CONFIG_MAX_BYTES: '16' })).toThrow(
      /small\.yaml is 38 bytes, over the limit of 16 bytes/,
    );
    expect(() => configMaxBytesFrom({ BULWARK_CONFIG_MAX_BYTES: '1mb' })).toThrow(/BULWARK_CONFIG_MAX_BYTES/);
    // A device reports no size; the read itself stops at the cap.
    expect(() => readConfigFile('/dev/zero', { maxBytes: 1024 })).toThrow(
      /\/dev\/zero is larger than the limit of 1024 bytes/,
    );
  });

  it('rejects invalid YAML with the file name', () => {
    expect(() => parseConfigText('providers: [unclosed', 'yaml', 'bad.yaml')).toThrow(
      /bad\.yaml is not valid YAML/,
    );
  });
});

describe('plan', () => {
  const deps = { logger: silentLogger, events: createEventBus(), clock: systemClock };

  it('names an unknown provider plugin and lists what is installed', async () => {
    const config = validateGatewayConfig({ providers: { main: { plugin: 'nonesuch' } } });
    await expect(buildPlan(config, deps)).rejects.toThrow(
      /providers\.main\.plugin: got "nonesuch"; expected one of openai, anthropic, mock/,
    );
  });

  it('names a target that refers to no provider', async () => {
    const config = validateGatewayConfig({
      providers: { main: { plugin: 'mock' } },
      models: {
        smart: {
          targets: [
            { provider: 'main', model: 'a' },
            { provider: 'ghost', model: 'b' },
          ],
        },
      },
    });
    await expect(buildPlan(config, deps)).rejects.toThrow(
      /models\.smart\.targets\[1\]\.provider: got "ghost"; expected one of the configured providers: main/,
    );
  });

  it("restates a plugin's own config error with the path and value", async () => {
    const config = validateGatewayConfig({
      providers: { main: { plugin: 'mock' } },
      retry: { maxAttempts: 0 },
    });
    await expect(buildPlan(config, deps)).rejects.toThrow(/retry\.maxAttempts: got 0; expected/);
  });

  it('names a plugin package that is not installed', async () => {
    const config = validateGatewayConfig({
      plugins: ['@bulwark/not-a-real-package'],
      providers: { main: { plugin: 'mock' } },
    });
    await expect(buildPlan(config, deps)).rejects.toThrow(/plugins\[0\]: .*not installed/);
  });

  it('closes what it created when a later part fails: nothing half-starts', async () => {
    let closed = 0;
    const counted: PluginDescriptor<'provider'> = {
      ...echoProviderPlugin,
      name: 'counted',
      configSchema: z.object({}),
      create: (config, context) => {
        const provider = echoProviderPlugin.create(config, context) as object;
        return Object.assign(provider, {
          close: () => {
            closed += 1;
          },
        }) as never;
      },
    };
    await expect(
      createGateway({
        config: {
          providers: { one: { plugin: 'counted' }, two: { plugin: 'counted' } },
          retry: { maxAttempts: -1 },
        },
        plugins: [counted],
        logger: silentLogger,
      }),
    ).rejects.toThrow(/retry\.maxAttempts/);
    expect(closed).toBe(2);
  });
});
