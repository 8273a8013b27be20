import { type ConfiguredProvider, createPluginRegistry } from '@bulwark/core';
import { createMockProvider } from '@bulwark/provider-mock';
import { describe, expect, it } from 'vitest';
import { plugin } from './plugin.js';

describe('cache-semantic plugin', () => {
  it('resolves its embeddings provider by name through the plugin context', async () => {
    const providers = new Map<string, ConfiguredProvider>();
    const registry = createPluginRegistry({ plugins: [plugin], providers });
    const config = { embeddings: { provider: 'main', model: 'embed-small' }, threshold: 0.9 };
    await expect(
      registry.create('middleware', 'cache-semantic', config, 'middleware[0].config'),
    ).rejects.toThrow(
      /middleware\[0\]\.config\.embeddings\.provider: one of the configured providers: \(none configured\)/,
    );
    providers.set('main', { instance: createMockProvider({ name: 'main' }), plugin: 'mock' });
    const cache = await registry.create('middleware', 'cache-semantic', config, 'middleware[0].config');
    expect(cache).toMatchObject({ specificationVersion: 'v1', stage: 'cache' });
    await expect(
      registry.create('middleware', 'cache-semantic', { ...config, threshold: 2 }, 'semantic'),
    ).rejects.toThrow(/semantic\.threshold/);
  });
});
