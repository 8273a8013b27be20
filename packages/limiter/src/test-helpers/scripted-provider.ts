import type {
  CallContext,
  ChatRequest,
  ChatResponse,
  ProviderV1,
  RateLimitInfo,
  StreamEvent,
  Usage,
} from '@bulwark/core';

/** What the scripted provider does for one call. */
export interface Script {
  /** Virtual ms the call takes. */
  latencyMs?: number;
  usage?: Usage;
  rateLimit?: RateLimitInfo;
  error?: Error;
}

/**
 * A provider for limiter tests: answers on the context clock after `latencyMs`, with the usage and
 * rate-limit info a script says, and records when each call started.
 */
export function createScriptedProvider(next: (request: ChatRequest, index: number) => Script = () => ({})) {
  const starts: Array<{ at: number; request: ChatRequest; priority: number | undefined }> = [];
  let index = 0;
  const provider: ProviderV1 & { starts: typeof starts; inFlight: number; maxInFlight: number } = {
    specificationVersion: 'v1',
    name: 'main',
    system: 'scripted',
    capabilities: { streaming: true, tools: true, vision: true, jsonMode: true },
    models: ['model-a', 'model-b'],
    starts,
    inFlight: 0,
    maxInFlight: 0,
    async complete(request: ChatRequest, context: CallContext): Promise<ChatResponse> {
      const script = next(request, index++);
      starts.push({ at: context.clock.now(), request, priority: context.metadata.priority });
      provider.inFlight += 1;
      provider.maxInFlight = Math.max(provider.maxInFlight, provider.inFlight);
      try {
        if (script.latencyMs) await context.clock.sleep(script.latencyMs, context.signal);
        if (script.error) throw script.error;
        return {
          id: `response-${index}`,
          provider: 'main',
          model: request.model,
          text: 'ok',
          toolCalls: [],
          finishReason: 'stop',
          attempts: [],
          ...(script.usage ? { usage: script.usage } : {}),
          ...(script.rateLimit ? { rateLimit: script.rateLimit } : {}),
        };
      } finally {
        provider.inFlight -= 1;
      }
    },
    async *stream(request: ChatRequest, context: CallContext): AsyncIterable<StreamEvent> {
      const script = next(request, index++);
      starts.push({ at: context.clock.now(), request, priority: context.metadata.priority });
      provider.inFlight += 1;
      provider.maxInFlight = Math.max(provider.maxInFlight, provider.inFlight);
      try {
        if (script.error) throw script.error;
        yield {
          type: 'start',
          id: `response-${index}`,
          provider: 'main',
          model: request.model,
          ...(script.rateLimit ? { rateLimit: script.rateLimit } : {}),
        };
        if (script.latencyMs) await context.clock.sleep(script.latencyMs, context.signal);
        yield { type: 'text-delta', text: 'ok' };
        if (script.usage) yield { type: 'usage', usage: script.usage };
        yield { type: 'finish', finishReason: 'stop' };
      } finally {
        provider.inFlight -= 1;
      }
    },
  };
  return provider;
}

export function usage(inputTokens: number, outputTokens: number): Usage {
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}
