import { createPluginRegistry } from '@bulwark/core';
import { createFakeUpstream, createTestCallContext } from '@bulwark/testkit';
import { describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from './openai-compatible-provider.js';
import { plugin } from './plugin.js';

describe('createOpenAICompatibleProvider options', () => {
  it('sends no authorization without an API key, the configured headers and the chosen max-tokens field', async () => {
    const upstream = await createFakeUpstream();
    try {
      const provider = createOpenAICompatibleProvider({
        baseURL: `${upstream.openaiBaseURL}/`,
        headers: { 'http-referer': 'https://example.test/app' },
        maxTokensField: 'max_completion_tokens',
      });
      const response = await provider.complete(
        { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], maxTokens: 12, temperature: 0.2 },
        createTestCallContext(),
      );
      expect(response.text).toBe('echo: hi');
      const sent = upstream.requests[0];
      expect(sent?.path).toBe('/v1/chat/completions');
      expect(sent?.headers.authorization).toBeUndefined();
      expect(sent?.headers['http-referer']).toBe('https://example.test/app');
      expect(sent?.body).toMatchObject({ model: 'llama3.2', max_completion_tokens: 12, temperature: 0.2 });
      expect(sent?.body).not.toHaveProperty('max_tokens');
    } finally {
      await upstream.close();
    }
  });

  it('defaults to max_tokens and sends the key as a bearer token', async () => {
    const upstream = await createFakeUpstream({ apiKey: 'sk-or-test-0123456789' });
    try {
      const provider = createOpenAICompatibleProvider({
        baseURL: upstream.openaiBaseURL,
        apiKey: 'sk-or-test-0123456789',
      });
      await provider.complete(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], maxTokens: 5 },
        createTestCallContext(),
      );
      expect(upstream.requests[0]?.body).toMatchObject({ max_tokens: 5 });
    } finally {
      await upstream.close();
    }
  });

  it('names baseURL when it is not an http(s) URL', () => {
    expect(() => createOpenAICompatibleProvider({ baseURL: 'ftp://host/v1' })).toThrow(
      expect.objectContaining({ code: 'configuration', path: 'baseURL' }),
    );
  });
});

describe('plugin', () => {
  it('creates a provider named after the config entry, with its models', async () => {
    const registry = createPluginRegistry({ plugins: [plugin] });
    const provider = await registry.create(
      'provider',
      'openai-compatible',
      { baseURL: 'http://127.0.0.1:11434/v1', models: ['llama3.2'] },
      'providers.local',
    );
    expect(provider).toMatchObject({
      specificationVersion: 'v1',
      name: 'local',
      system: 'openai',
      models: ['llama3.2'],
    });
  });

  it('rejects a missing baseURL, unknown keys and bad values with their config path', async () => {
    const registry = createPluginRegistry({ plugins: [plugin] });
    const create = (config: Record<string, unknown>) =>
      registry.create('provider', 'openai-compatible', config, 'providers.local');
    await expect(create({})).rejects.toMatchObject({
      code: 'configuration',
      path: 'providers.local.baseURL',
    });
    await expect(create({ baseURL: 'nope' })).rejects.toMatchObject({
      code: 'configuration',
      path: 'providers.local.baseURL',
    });
    await expect(
      create({ baseURL: 'http://127.0.0.1:8000/v1', maxTokensField: 'tokens' }),
    ).rejects.toMatchObject({
      code: 'configuration',
      path: 'providers.local.maxTokensField',
    });
    await expect(create({ baseURL: 'http://127.0.0.1:8000/v1', limits: { rpm: 1 } })).rejects.toMatchObject({
      code: 'configuration',
      path: 'providers.local',
    });
  });
});
