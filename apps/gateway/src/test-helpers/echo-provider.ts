import type { ChatRequest, PluginDescriptor, ProviderV1, StreamEvent } from '@bulwark/core';
import { AbortedError, ServerError } from '@bulwark/core';
import { z } from 'zod';

function lastUserText(request: ChatRequest): string {
  for (let index = request.messages.length - 1; index >= 0; index -= 1) {
    const message = request.messages[index]!;
    if (message.role === 'user') {
      return typeof message.content === 'string'
        ? message.content
        : message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
    }
  }
  return '';
}

/** Test-only provider: echoes the last user text, calls the first tool when asked to, counts calls. */
export function createEchoProvider(
  name: string,
  options: { failFirst?: number; chunkDelayMs?: number } = {},
) {
  let failures = options.failFirst ?? 0;
  const provider: ProviderV1 & { calls: number } = {
    specificationVersion: 'v1',
    name,
    system: 'echo',
    capabilities: { streaming: true, tools: true, vision: false, jsonMode: false },
    calls: 0,
    async complete(request, context) {
      provider.calls += 1;
      if (failures > 0) {
        failures -= 1;
        throw new ServerError({ status: 500, provider: name, message: 'echo failure' });
      }
      if (context.signal.aborted) throw new AbortedError({});
      const text = `echo: ${lastUserText(request)}`;
      const tool = request.tools?.[0];
      return {
        id: `echo-${provider.calls}`,
        provider: name,
        model: request.model,
        text: tool ? '' : text,
        toolCalls: tool ? [{ id: 'call_1', name: tool.name, arguments: '{"city":"Paris"}' }] : [],
        finishReason: tool ? 'tool_calls' : 'stop',
        usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
        attempts: [],
      };
    },
    async *stream(request, context): AsyncGenerator<StreamEvent> {
      const response = await provider.complete(request, context);
      yield { type: 'start', id: response.id, provider: name, model: request.model };
      for (const word of response.text.split(/(?<= )/)) {
        if (options.chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, options.chunkDelayMs));
        if (context.signal.aborted) throw new AbortedError({});
        yield { type: 'text-delta', text: word };
      }
      for (const [index, call] of response.toolCalls.entries()) {
        yield { type: 'tool-call-delta', index, id: call.id, name: call.name, argumentsDelta: '' };
        yield { type: 'tool-call-delta', index, argumentsDelta: call.arguments };
      }
      yield { type: 'usage', usage: response.usage! };
      yield { type: 'finish', finishReason: response.finishReason };
    },
  };
  return provider;
}

/** The echo provider as a plugin, so configs can say `plugin: echo`. */
export const echoProviderPlugin: PluginDescriptor<'provider'> = {
  specificationVersion: 'v1',
  kind: 'provider',
  name: 'echo',
  packageName: '@bulwark/gateway (tests)',
  configSchema: z.object({
    failFirst: z.number().int().min(0).optional(),
    chunkDelayMs: z.number().optional(),
  }),
  create: (config: { failFirst?: number; chunkDelayMs?: number }, context) =>
    createEchoProvider(context.name, config),
};
