import {
  AbortedError,
  type BulwarkError,
  type CallContext,
  type ChatRequest,
  type ChatResponse,
  type Clock,
  type ProviderV1,
  type StreamEvent,
} from '@bulwark/core';

/** One call's behaviour: wait `latencyMs`, then fail with `error` or answer `text`; `hang` waits for abort. */
export interface Step {
  latencyMs?: number;
  error?: () => BulwarkError;
  hang?: boolean;
  text?: string;
  /** Streams: fail with `error` after this many text chunks instead of before the first. */
  errorAfterChunks?: number;
}

export interface ScriptedProvider extends ProviderV1 {
  calls: number;
  aborted: number;
  /** Steps consumed in order; when empty, `fallback` applies. */
  steps: Step[];
  fallback: Step;
}

function waitForAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new AbortedError({ cause: signal.reason }));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

/** A minimal in-test ProviderV1 on an injected clock (no network). */
export function scriptedProvider(
  name: string,
  clock: Clock,
  steps: Step[] = [],
  fallback: Step = {},
): ScriptedProvider {
  const provider: ScriptedProvider = {
    specificationVersion: 'v1',
    name,
    system: 'test',
    capabilities: { streaming: true, tools: false, vision: false, jsonMode: false },
    calls: 0,
    aborted: 0,
    steps,
    fallback,
    async complete(request: ChatRequest, context: CallContext): Promise<ChatResponse> {
      provider.calls += 1;
      const step = provider.steps.shift() ?? provider.fallback;
      try {
        if (step.latencyMs) await clock.sleep(step.latencyMs, context.signal);
        if (step.hang) await waitForAbort(context.signal);
      } catch (error) {
        provider.aborted += 1;
        throw error;
      }
      if (step.error) throw step.error();
      return {
        id: `${name}-${provider.calls}`,
        provider: name,
        model: request.model,
        text: step.text ?? `answer from ${name}`,
        toolCalls: [],
        finishReason: 'stop',
        attempts: [],
      };
    },
    async *stream(request: ChatRequest, context: CallContext): AsyncIterable<StreamEvent> {
      provider.calls += 1;
      const step = provider.steps.shift() ?? provider.fallback;
      try {
        if (step.latencyMs) await clock.sleep(step.latencyMs, context.signal);
        if (step.hang) await waitForAbort(context.signal);
      } catch (error) {
        provider.aborted += 1;
        throw error;
      }
      if (step.error && step.errorAfterChunks === undefined) throw step.error();
      yield { type: 'start', id: `${name}-${provider.calls}`, provider: name, model: request.model };
      const words = (step.text ?? `answer from ${name}`).split(' ');
      for (const [index, word] of words.entries()) {
        if (step.error && step.errorAfterChunks === index) throw step.error();
        yield { type: 'text-delta', text: index === 0 ? word : ` ${word}` };
      }
      yield { type: 'finish', finishReason: 'stop' };
    },
  };
  return provider;
}
