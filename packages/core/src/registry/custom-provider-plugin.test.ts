// The example plugin authors copy: a whole provider plugin in under 40 lines, registered and called.
import { expect, it } from 'vitest';
import { z } from 'zod';
import {
  type ChatRequest,
  type ChatResponse,
  createBulwark,
  createPluginRegistry,
  type PluginDescriptor,
} from '../index.js';

const shoutPlugin: PluginDescriptor<'provider', { name?: string; suffix: string }> = {
  specificationVersion: 'v1',
  kind: 'provider',
  name: 'shout',
  packageName: 'bulwark-provider-shout',
  configSchema: z.object({ name: z.string().optional(), suffix: z.string().default('!') }),
  create(config, context) {
    const name = config.name ?? context.name;
    const complete = async (request: ChatRequest): Promise<ChatResponse> => {
      const text = `${String(request.messages.at(-1)?.content).toUpperCase()}${config.suffix}`;
      return {
        id: 'shout-1',
        provider: name,
        model: request.model,
        text,
        toolCalls: [],
        finishReason: 'stop',
        attempts: [],
      };
    };
    return {
      specificationVersion: 'v1',
      name,
      system: 'shout',
      capabilities: { streaming: true, tools: false, vision: false, jsonMode: false },
      complete,
      async *stream(request) {
        const response = await complete(request);
        yield { type: 'start', id: response.id, provider: name, model: response.model };
        yield { type: 'text-delta', text: response.text };
        yield { type: 'finish', finishReason: 'stop' };
      },
    };
  },
};

it('registers a custom provider plugin and calls it through the client', async () => {
  const registry = createPluginRegistry({ plugins: [shoutPlugin] });
  const loud = await registry.create('provider', 'shout', { suffix: '!!' }, 'providers.loud');
  const bulwark = createBulwark({
    providers: { loud },
    models: { default: [{ provider: 'loud', model: 'v1' }] },
  });
  const response = await bulwark.chat({ model: 'default', messages: [{ role: 'user', content: 'hello' }] });
  expect(response.text).toBe('HELLO!!');
  expect(response.provider).toBe('loud');
});
