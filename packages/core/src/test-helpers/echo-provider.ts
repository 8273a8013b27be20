import type { CallContext, ProviderV1 } from '../provider.js';
import type { ChatRequest } from '../types/chat-request.js';
import type { ChatResponse } from '../types/chat-response.js';
import type { StreamEvent } from '../types/stream-event.js';
import { throwIfAborted } from '../util/abort.js';

/** What the test provider does on its next call. */
export type Step = 'ok' | Error | { delayMs: number } | { hang: true };

/**
 * A small in-process provider for core's own tests: answers `echo:<model>`, runs a script of steps on
 * the context clock, and records every call with the signal it got.
 */
export function createEchoProvider(name: string, script: Step[] = []) {
  const calls: Array<{ request: ChatRequest; context: CallContext }> = [];
  const run = async (request: ChatRequest, context: CallContext): Promise<void> => {
    calls.push({ request, context });
    const step = script.shift() ?? 'ok';
    if (step instanceof Error) throw step;
    if (step !== 'ok' && 'delayMs' in step) await context.clock.sleep(step.delayMs, context.signal);
    if (step !== 'ok' && 'hang' in step)
      await context.clock.sleep(Number.MAX_SAFE_INTEGER / 2, context.signal);
    throwIfAborted(context.signal);
  };
  const provider: ProviderV1 & { calls: typeof calls; script: Step[] } = {
    specificationVersion: 'v1',
    name,
    system: 'echo',
    capabilities: { streaming: true, tools: false, vision: false, jsonMode: false },
    calls,
    script,
    // Typed against the whole call context, as providers written before ProviderCallOptionsV1 are: the
    // host passes the context, so they keep working (and keep type-checking: methods are bivariant).
    async complete(request, context: CallContext): Promise<ChatResponse> {
      await run(request, context);
      return {
        id: `${name}-${calls.length}`,
        provider: name,
        model: request.model,
        text: `echo:${request.model}`,
        toolCalls: [],
        finishReason: 'stop',
        usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 },
        attempts: [],
      };
    },
    async *stream(request, context: CallContext): AsyncIterable<StreamEvent> {
      await run(request, context);
      yield { type: 'start', id: `${name}-${calls.length}`, provider: name, model: request.model };
      for (const piece of ['echo:', request.model]) {
        await context.clock.sleep(1, context.signal);
        yield { type: 'text-delta', text: piece };
      }
      yield { type: 'usage', usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 } };
      yield { type: 'finish', finishReason: 'stop' };
    },
  };
  return provider;
}

export const userMessage = (text: string): ChatRequest['messages'] => [{ role: 'user', content: text }];
