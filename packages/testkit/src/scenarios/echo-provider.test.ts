import { createPluginRegistry, ServerError } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { createTestCallContext } from '../conformance/test-call-context.js';
import { createEchoProvider, echoProviderPlugin } from './echo-provider.js';

describe('echo provider', () => {
  it('echoes the last user text, fails the first calls when asked, and counts calls', async () => {
    const echo = createEchoProvider('echo', { failFirst: 1 });
    const request = { model: 'm', messages: [{ role: 'user' as const, content: 'hello there' }] };
    await expect(echo.complete(request, createTestCallContext())).rejects.toBeInstanceOf(ServerError);
    const response = await echo.complete(request, createTestCallContext());
    expect(response.text).toBe('echo: hello there');
    expect(echo.calls).toBe(2);
    const events = [];
    for await (const event of echo.stream(request, createTestCallContext())) events.push(event);
    expect(events.filter((event) => event.type === 'text-delta').map((event) => event.text)).toEqual([
      'echo: ',
      'hello ',
      'there',
    ]);
  });

  it('validates its plugin config and names the bad field', async () => {
    const registry = createPluginRegistry({ plugins: [echoProviderPlugin] });
    const provider = await registry.create(
      'provider',
      'echo',
      { failFirst: 0, plugin: 'echo' },
      'providers.a',
    );
    expect(provider.name).toBe('a');
    await expect(registry.create('provider', 'echo', { failFirst: -1 }, 'providers.b')).rejects.toThrow(
      /providers\.b\.failFirst/,
    );
    await expect(
      registry.create('provider', 'echo', { chunkDelayMs: 'slow' }, 'providers.c'),
    ).rejects.toThrow(/providers\.c\.chunkDelayMs/);
  });
});
