import { ConfigError, type ProviderV1 } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sdkProviderConfigShape } from './provider-config.js';
import { atConfigPath, checkBaseURL, createSdkClient, providerPlugin } from './provider-options.js';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(ConfigError.isInstance(error)).toBe(true);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const clientOptions = {
  apiKeyEnv: 'BULWARK_TEST_UNSET_KEY',
  baseURLExample: 'https://api.example.com/v1',
  timeoutMs: 1000,
  create: (settings: object) => ({ settings }),
};

describe('createSdkClient', () => {
  it('names apiKey when the key is missing or blank, with the variable and the hint', () => {
    const missing = configError(() =>
      createSdkClient({ ...clientOptions, apiKeyHint: 'any string will do' }),
    );
    expect(missing.path).toBe('apiKey');
    expect(missing.message).toBe(
      'Invalid configuration at apiKey: an API key is required (set apiKey or BULWARK_TEST_UNSET_KEY; any string will do)',
    );
    expect(configError(() => createSdkClient({ ...clientOptions, apiKey: '  ' })).path).toBe('apiKey');
  });

  it('names baseURL when it does not parse or is not http(s)', () => {
    expect(configError(() => checkBaseURL('not a url', 'https://x')).message).toContain(
      'expected e.g. "https://x"',
    );
    expect(
      configError(() => createSdkClient({ ...clientOptions, apiKey: 'k', baseURL: 'ftp://h/v1' })).path,
    ).toBe('baseURL');
  });

  it('builds the client with SDK retries off, the timeout, its own transport and no console logging', () => {
    const { client, close } = createSdkClient({
      ...clientOptions,
      apiKey: 'key-1',
      baseURL: 'http://127.0.0.1:1/v1',
    });
    expect(client.settings).toMatchObject({
      apiKey: 'key-1',
      baseURL: 'http://127.0.0.1:1/v1',
      maxRetries: 0,
      timeout: 1000,
      logLevel: 'off',
    });
    expect(typeof (client.settings as { fetch?: unknown }).fetch).toBe('function');
    close();
  });

  it('uses a given client as is', () => {
    const own = { settings: {} };
    expect(createSdkClient({ ...clientOptions, client: own }).client).toBe(own);
  });
});

describe('plugin config errors', () => {
  it('names the option by its path in the config file', () => {
    const error = configError(() =>
      atConfigPath({ path: 'providers.main' }, () => checkBaseURL('nope', 'https://x')),
    );
    expect(error.path).toBe('providers.main.baseURL');
    expect(error.message).toMatch(/^Invalid configuration at providers\.main\.baseURL:/);
  });

  it('creates the provider named after the config entry', async () => {
    const made: Array<{ name: string }> = [];
    const plugin = providerPlugin({
      name: 'example',
      packageName: '@acme/example',
      description: 'example',
      configSchema: z.strictObject(sdkProviderConfigShape),
      create: (config) => {
        made.push(config);
        return { name: config.name } as unknown as ProviderV1;
      },
    });
    expect(plugin).toMatchObject({ specificationVersion: 'v1', kind: 'provider', name: 'example' });
    await plugin.create({ apiKey: 'k' }, { name: 'main', path: 'providers.main' } as never);
    expect(made).toEqual([{ apiKey: 'k', name: 'main' }]);
  });
});
