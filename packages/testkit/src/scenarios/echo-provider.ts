import {
  AbortedError,
  type ChatRequest,
  type PluginDescriptor,
  type ProviderV1,
  ServerError,
  type StandardIssue,
  type StandardSchemaV1,
  type StreamEvent,
} from '@bulwark/core';

/** Options of `createEchoProvider` (also the config of `echoProviderPlugin`). */
export interface EchoProviderOptions {
  /** The first this many calls fail with a 500 `ServerError`. Default 0. */
  failFirst?: number;
  /** Real-time delay between streamed words (for tests of in-flight streams). Default 0. */
  chunkDelayMs?: number;
}

/** The echo provider: a `ProviderV1` that counts its calls. */
export interface EchoProvider extends ProviderV1 {
  calls: number;
}

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

/**
 * A test provider that answers `echo: <last user text>`, calls the first tool when the request has
 * tools, reports usage 10/5, and counts calls. Streams send the answer word by word.
 */
export function createEchoProvider(name: string, options: EchoProviderOptions = {}): EchoProvider {
  let failures = options.failFirst ?? 0;
  const provider: EchoProvider = {
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

/** Accepts an object with optional `failFirst` (integer ≥ 0) and `chunkDelayMs` (number); drops other keys. */
const echoConfigSchema: StandardSchemaV1<unknown, EchoProviderOptions> = {
  '~standard': {
    version: 1,
    vendor: '@bulwark/testkit',
    validate(value) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return { issues: [{ message: 'expected an object' }] };
      }
      const { failFirst, chunkDelayMs } = value as Record<string, unknown>;
      const issues: StandardIssue[] = [];
      if (failFirst !== undefined && !(Number.isInteger(failFirst) && (failFirst as number) >= 0)) {
        issues.push({ message: 'expected an integer ≥ 0', path: ['failFirst'] });
      }
      if (chunkDelayMs !== undefined && typeof chunkDelayMs !== 'number') {
        issues.push({ message: 'expected a number', path: ['chunkDelayMs'] });
      }
      if (issues.length > 0) return { issues };
      const config: EchoProviderOptions = {};
      if (failFirst !== undefined) config.failFirst = failFirst as number;
      if (chunkDelayMs !== undefined) config.chunkDelayMs = chunkDelayMs as number;
      return { value: config };
    },
  },
};

/** The echo provider as a plugin, so configs can say `plugin: echo`. */
export const echoProviderPlugin: PluginDescriptor<'provider', EchoProviderOptions> = {
  specificationVersion: 'v1',
  kind: 'provider',
  name: 'echo',
  packageName: '@bulwark/testkit',
  description: 'Test provider: echoes the last user text, calls the first tool when asked to, counts calls.',
  configSchema: echoConfigSchema,
  create: (config, context) => createEchoProvider(context.name, config),
};
