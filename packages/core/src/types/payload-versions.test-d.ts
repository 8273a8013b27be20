import { describe, expectTypeOf, it } from 'vitest';
import type {
  CallContext,
  CallContextV1,
  ChatRequest,
  ChatRequestV1,
  ChatResponse,
  ChatResponseV1,
  EmbeddingRequest,
  EmbeddingRequestV1,
  EmbeddingResponse,
  EmbeddingResponseV1,
  FinishEvent,
  ProviderCallOptionsV1,
  ProviderV1,
  StreamEvent,
  StreamEventV1,
  TextDeltaEvent,
} from '../index.js';

describe('payload versions', () => {
  it('names the current version of each payload with an alias of its v1 type', () => {
    expectTypeOf<ChatRequest>().toEqualTypeOf<ChatRequestV1>();
    expectTypeOf<ChatResponse>().toEqualTypeOf<ChatResponseV1>();
    expectTypeOf<StreamEvent>().toEqualTypeOf<StreamEventV1>();
    expectTypeOf<CallContext>().toEqualTypeOf<CallContextV1>();
    expectTypeOf<EmbeddingRequest>().toEqualTypeOf<EmbeddingRequestV1>();
    expectTypeOf<EmbeddingResponse>().toEqualTypeOf<EmbeddingResponseV1>();
  });

  it('pins the provider contract to the v1 payloads', () => {
    expectTypeOf<ProviderV1['complete']>().parameters.toEqualTypeOf<[ChatRequestV1, ProviderCallOptionsV1]>();
    expectTypeOf<ProviderV1['complete']>().returns.toEqualTypeOf<Promise<ChatResponseV1>>();
    expectTypeOf<ProviderV1['stream']>().returns.toEqualTypeOf<AsyncIterable<StreamEventV1>>();
    expectTypeOf<NonNullable<ProviderV1['embed']>>().returns.toEqualTypeOf<Promise<EmbeddingResponseV1>>();
  });

  it('keeps the v1 request shape: model and messages required, the rest optional', () => {
    const request: ChatRequestV1 = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
    expectTypeOf(request.model).toEqualTypeOf<string>();
    expectTypeOf<ChatRequestV1['maxTokens']>().toEqualTypeOf<number | undefined>();
    // @ts-expect-error messages are required
    const withoutMessages: ChatRequestV1 = { model: 'gpt-4o' };
    // @ts-expect-error a message role outside system/user/assistant/tool
    const badRole: ChatRequestV1 = { model: 'gpt-4o', messages: [{ role: 'developer', content: 'x' }] };
    expectTypeOf(withoutMessages).toEqualTypeOf(badRole);
  });

  it('narrows v1 stream events by their type tag', () => {
    expectTypeOf<Extract<StreamEventV1, { type: 'text-delta' }>>().toEqualTypeOf<TextDeltaEvent>();
    expectTypeOf<Extract<StreamEventV1, { type: 'finish' }>>().toEqualTypeOf<FinishEvent>();
    expectTypeOf<StreamEventV1['type']>().toEqualTypeOf<
      'start' | 'text-delta' | 'reasoning-delta' | 'tool-call-delta' | 'wire' | 'usage' | 'finish'
    >();
    // @ts-expect-error errors are thrown, never sent as events
    const errorEvent: StreamEventV1 = { type: 'error', error: 'boom' };
    expectTypeOf(errorEvent).toEqualTypeOf<StreamEventV1>();
  });

  it('keeps the v1 answer fields the callers read', () => {
    expectTypeOf<ChatResponseV1['text']>().toEqualTypeOf<string>();
    expectTypeOf<ChatResponseV1['finishReason']>().toEqualTypeOf<
      'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other'
    >();
    expectTypeOf<CallContextV1['signal']>().toEqualTypeOf<AbortSignal>();
  });

  it('gives providers the narrow call options, and keeps providers written against the call context', () => {
    expectTypeOf<CallContextV1>().toExtend<ProviderCallOptionsV1>();
    expectTypeOf<keyof ProviderCallOptionsV1>().toEqualTypeOf<'signal' | 'events' | 'callId'>();
    const legacy = {
      specificationVersion: 'v1' as const,
      name: 'legacy',
      system: 'legacy',
      capabilities: { streaming: true, tools: false, vision: false, jsonMode: false },
      async complete(_request: ChatRequestV1, context: CallContextV1): Promise<ChatResponseV1> {
        throw new Error(`not called: ${context.clock.now()}`);
      },
      async *stream(_request: ChatRequestV1, context: CallContextV1): AsyncIterable<StreamEventV1> {
        yield { type: 'text-delta', text: context.logger === undefined ? '' : context.callId };
      },
    };
    expectTypeOf(legacy).toExtend<ProviderV1>();
  });
});
