import { ConfigError, createPluginRegistry } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { createAnthropicProvider } from './anthropic-provider.js';
import { plugin } from './plugin.js';

function configPath(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(ConfigError.isInstance(error)).toBe(true);
    return (error as ConfigError).path;
  }
  throw new Error('expected a ConfigError');
}

describe('createAnthropicProvider options', () => {
  it('names the field of a missing key, an unparseable baseURL and a bad timeout', () => {
    const saved = process.env.ANTHROPIC_API_KEY;
    delete process.env.ANTHROPIC_API_KEY;
    try {
      expect(configPath(() => createAnthropicProvider({}))).toBe('apiKey');
      expect(configPath(() => createAnthropicProvider({ apiKey: '  ' }))).toBe('apiKey');
    } finally {
      if (saved !== undefined) process.env.ANTHROPIC_API_KEY = saved;
    }
    expect(
      configPath(() => createAnthropicProvider({ apiKey: 'sk-test-1234567890', baseURL: 'not a url' })),
    ).toBe('baseURL');
    expect(
      configPath(() => createAnthropicProvider({ apiKey: 'sk-test-1234567890', baseURL: 'ftp://host' })),
    ).toBe('baseURL');
    expect(configPath(() => createAnthropicProvider({ apiKey: 'sk-test-1234567890', timeoutMs: -1 }))).toBe(
      'timeoutMs',
    );
  });

  it('advertises capabilities, models and its name', () => {
    const provider = createAnthropicProvider({
      name: 'claude',
      apiKey: 'sk-ant-test-12345678',
      baseURL: 'http://127.0.0.1:9002',
      models: ['claude-sonnet-4-20250514'],
      capabilities: { vision: false },
    });
    expect(provider).toMatchObject({
      specificationVersion: 'v1',
      name: 'claude',
      system: 'anthropic',
      models: ['claude-sonnet-4-20250514'],
    });
    expect(provider.capabilities).toEqual({
      streaming: true,
      tools: true,
      vision: false,
      jsonMode: true,
      embeddings: false,
    });
    expect(provider.embed).toBeUndefined();
  });
});

describe('plugin', () => {
  it('creates a provider named after the config entry', async () => {
    const registry = createPluginRegistry({ plugins: [plugin] });
    const provider = await registry.create(
      'provider',
      'anthropic',
      {
        apiKey: 'sk-test-abcdefgh12345',
        baseURL: 'http://127.0.0.1:9002',
        models: ['claude-sonnet-4-20250514'],
      },
      'providers.main',
    );
    expect(provider.name).toBe('main');
    expect(provider.models).toEqual(['claude-sonnet-4-20250514']);
  });

  it('rejects unknown keys and bad values with their config path', async () => {
    const registry = createPluginRegistry({ plugins: [plugin] });
    await expect(
      registry.create('provider', 'anthropic', { apiKey: 'k-12345678', baseURL: 'nope' }, 'providers.main'),
    ).rejects.toMatchObject({ code: 'configuration', path: 'providers.main.baseURL' });
    await expect(
      registry.create(
        'provider',
        'anthropic',
        { apiKey: 'k-12345678', limits: { rpm: 1 } },
        'providers.main',
      ),
    ).rejects.toMatchObject({ code: 'configuration', path: 'providers.main' });
  });

  it('prefixes the config path of errors raised by the factory', () => {
    const saved = process.env.ANTHROPIC_API_KEY;
    delete process.env.ANTHROPIC_API_KEY;
    try {
      expect(() =>
        plugin.create({}, { name: 'main', path: 'providers.main' } as Parameters<typeof plugin.create>[1]),
      ).toThrow(expect.objectContaining({ path: 'providers.main.apiKey' }));
    } finally {
      if (saved !== undefined) process.env.ANTHROPIC_API_KEY = saved;
    }
  });
});
