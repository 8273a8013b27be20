import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { BulwarkError, type ProviderV1, type StreamEvent } from '@bulwark/core';
import {
  createFakeUpstream,
  createTestCallContext,
  type FakeBehavior,
  type FakeUpstream,
} from '@bulwark/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAISDKProvider } from './aisdk-provider.js';

// The third wire format: @ai-sdk/google against the fake upstream's Gemini API.
const apiKey = 'gemini-test-key-0123456789';
let upstream: FakeUpstream;
let provider: ProviderV1;

beforeEach(async () => {
  upstream = await createFakeUpstream({ apiKey });
  provider = createAISDKProvider({
    name: 'gemini',
    model: (id) => createGoogleGenerativeAI({ baseURL: upstream.googleBaseURL, apiKey })(id),
  });
});
afterEach(async () => {
  await upstream.close();
});

const request = { model: 'gemini-2.5-flash', messages: [{ role: 'user' as const, content: 'a b c d e' }] };
const collect = async (): Promise<StreamEvent[]> => {
  const events: StreamEvent[] = [];
  for await (const event of provider.stream(request, createTestCallContext({ stream: true })))
    events.push(event);
  return events;
};
const failure = async (work: Promise<unknown>): Promise<BulwarkError> => {
  const error = await work.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!BulwarkError.isInstance(error)) throw new Error(`expected a BulwarkError, got ${String(error)}`);
  return error;
};

describe('@ai-sdk/google through createAISDKProvider', () => {
  it('answers, with usage, the request id and the key in x-goog-api-key', async () => {
    upstream.enqueue({ kind: 'reply', usage: { inputTokens: 11, outputTokens: 7, cachedInputTokens: 3 } });
    const response = await provider.complete(request, createTestCallContext());
    expect(response).toMatchObject({
      text: 'echo: a b c d e',
      finishReason: 'stop',
      usage: { inputTokens: 11, outputTokens: 7, totalTokens: 18, cachedInputTokens: 3 },
      requestId: upstream.requests[0]?.id,
    });
    expect(upstream.requests[0]?.headers['x-goog-api-key']).toBe(apiKey);
    expect(provider.system).toBe('ai-sdk');
  });

  it('streams text deltas and a whole function call', async () => {
    upstream.enqueue({ kind: 'reply', toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] });
    const events = await collect();
    const deltas = events.filter((event) => event.type === 'tool-call-delta');
    expect(deltas[0]).toMatchObject({ index: 0, name: 'get_weather' });
    expect(deltas.every((delta) => delta.index === 0)).toBe(true);
    expect(deltas.map((delta) => delta.argumentsDelta).join('')).toBe('{"city":"Paris"}');
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'tool_calls' });
  });

  const faults: Array<[string, FakeBehavior, string]> = [
    [
      '429 RESOURCE_EXHAUSTED',
      { kind: 'status', status: 429, headers: { 'retry-after': '4' } },
      'rate_limited',
    ],
    ['503 UNAVAILABLE', { kind: 'status', status: 503 }, 'server_error'],
    [
      '400 input token count',
      { kind: 'status', status: 400, error: 'context-length' },
      'context_length_exceeded',
    ],
    ['an error chunk in the stream', { kind: 'stream-error', afterChunks: 2 }, 'overloaded'],
    ['a cut stream', { kind: 'cut', afterChunks: 2 }, 'connection_error'],
    ['a malformed stream', { kind: 'malformed' }, 'invalid_response'],
  ];
  for (const [title, behavior, code] of faults) {
    it(`maps ${title} to ${code}, one request`, async () => {
      upstream.enqueue(behavior);
      const error = await failure(collect());
      expect(error.code).toBe(code);
      if (code === 'rate_limited') expect(error.retryAfterMs).toBe(4000);
      expect(upstream.requests).toHaveLength(1);
      expect(JSON.stringify(error)).not.toContain(apiKey);
    });
  }

  it('aborts a hanging call and closes the socket', async () => {
    upstream.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const call = provider.complete(request, createTestCallContext({ signal: controller.signal }));
    while (upstream.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    expect((await failure(call)).code).toBe('aborted');
    await upstream.waitForConnections(0, 2000);
  });
});
