import {
  type BulwarkError,
  type ChatRequest,
  collectStream,
  createEventBus,
  type RateLimitInfo,
  type StreamEvent,
} from '@bulwark/core';
import {
  createFakeUpstream,
  createTestCallContext,
  type FakeBehavior,
  type FakeUpstream,
} from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAIProvider } from './openai-provider.js';

const apiKey = 'sk-test-integration-0123456789';
const model = 'gpt-4o-mini';
const request: ChatRequest = { model, messages: [{ role: 'user', content: 'hello there' }], maxTokens: 50 };

let upstream: FakeUpstream;

// A fresh upstream per test: socket counts then only see this test's connections.
beforeEach(async () => {
  upstream = await createFakeUpstream();
});
afterEach(async () => {
  await upstream.close();
});

const provider = (options: Parameters<typeof createOpenAIProvider>[0] = {}) =>
  createOpenAIProvider({ name: 'main', apiKey, baseURL: upstream.openaiBaseURL, ...options });

async function failure(promise: Promise<unknown>): Promise<BulwarkError> {
  try {
    await promise;
  } catch (error) {
    return error as BulwarkError;
  }
  throw new Error('expected the call to fail');
}

describe('transport', () => {
  it("sends through Bulwark's node:http fetch by default, reusing one keep-alive socket, and closes it", async () => {
    const main = provider();
    for (let call = 0; call < 3; call += 1) await main.complete(request, createTestCallContext());
    expect(upstream.requests).toHaveLength(3);
    expect(upstream.openConnections()).toBe(1);
    await main.close?.();
    await upstream.waitForConnections(0);
  });

  it('uses the fetch it is given (here the built-in one)', async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls += 1;
      return globalThis.fetch(input, init);
    };
    const response = await provider({ fetch: counting }).complete(request, createTestCallContext());
    expect(response.text.length).toBeGreaterThan(0);
    expect(calls).toBe(1);
  });
});

describe('complete over real HTTP', () => {
  it('sends the mapped body once and maps the answer, its usage, request id and rate-limit headers', async () => {
    const events = createEventBus();
    const seen: Array<{ provider: string; model: string; rateLimit: RateLimitInfo }> = [];
    events.on('ratelimit:headers', (payload) => seen.push(payload));
    const response = await provider().complete(request, createTestCallContext({ events }));
    expect(upstream.requests).toHaveLength(1);
    const sent = upstream.requests[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(sent.headers['x-stainless-retry-count']).toBe('0');
    expect(sent.body).toEqual({
      model,
      messages: [{ role: 'user', content: 'hello there' }],
      max_completion_tokens: 50,
    });
    expect(response).toMatchObject({
      provider: 'main',
      text: 'echo: hello there',
      finishReason: 'stop',
      toolCalls: [],
    });
    expect(response.id).toMatch(/^chatcmpl-/);
    expect(response.requestId).toBe(sent.id);
    expect(response.usage?.inputTokens).toBeGreaterThan(0);
    expect(response.usage?.outputTokens).toBeGreaterThan(0);
    expect(response.rateLimit?.remainingRequests).toBeTypeOf('number');
    expect(response.rateLimit?.resetTokensMs).toBeTypeOf('number');
    expect(seen).toEqual([{ provider: 'main', model, rateLimit: response.rateLimit }]);
  });

  it('maps tool calls and cached usage', async () => {
    upstream.enqueue({
      kind: 'reply',
      toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
      usage: { inputTokens: 30, outputTokens: 9, cachedInputTokens: 20 },
    });
    const response = await provider().complete(
      {
        ...request,
        tools: [
          { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
        ],
      },
      createTestCallContext(),
    );
    expect(response.toolCalls).toEqual([{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }]);
    expect(response.finishReason).toBe('tool_calls');
    expect(response.usage).toEqual({
      inputTokens: 30,
      outputTokens: 9,
      totalTokens: 39,
      cachedInputTokens: 20,
      reasoningTokens: 0,
    });
  });

  it('rejects bad input before any network call', async () => {
    const error = await failure(
      provider().complete(
        { model, messages: [{ role: 'user', content: [{ type: 'audio', data: 'x' } as never] }] },
        createTestCallContext(),
      ),
    );
    expect(error).toMatchObject({ code: 'invalid_request', field: 'messages[0].content[0].type' });
    expect(upstream.requests).toHaveLength(0);
  });
});

const epochSecondsFromNow = (seconds: number) => new Date(Date.now() + seconds * 1000).toUTCString();

const errorRows: Array<{
  name: string;
  behavior: FakeBehavior;
  code: string;
  check?: (error: BulwarkError) => void;
}> = [
  {
    name: '429 with retry-after seconds',
    behavior: { kind: 'status', status: 429, headers: { 'retry-after': '2' } },
    code: 'rate_limited',
    check: (error) => expect(error.retryAfterMs).toBe(2000),
  },
  {
    name: '429 with retry-after as an HTTP date',
    behavior: { kind: 'status', status: 429, headers: { 'retry-after': epochSecondsFromNow(30) } },
    code: 'rate_limited',
    check: (error) => {
      expect(error.retryAfterMs).toBeGreaterThan(27_000);
      expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
    },
  },
  {
    name: '429 with retry-after-ms',
    behavior: { kind: 'status', status: 429, headers: { 'retry-after-ms': '1500', 'retry-after': '2' } },
    code: 'rate_limited',
    check: (error) => expect(error.retryAfterMs).toBe(1500),
  },
  {
    name: '429 with only x-ratelimit-reset durations',
    behavior: {
      kind: 'status',
      status: 429,
      headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1m2.5s' },
    },
    code: 'rate_limited',
    check: (error) => expect(error.retryAfterMs).toBe(62_500),
  },
  {
    name: '429 insufficient_quota',
    behavior: {
      kind: 'status',
      status: 429,
      body: {
        error: {
          message: 'You exceeded your current quota',
          type: 'insufficient_quota',
          code: 'insufficient_quota',
        },
      },
    },
    code: 'rate_limited',
    check: (error) => expect(error.retryable).toBe(false),
  },
  { name: '500', behavior: { kind: 'status', status: 500 }, code: 'server_error' },
  {
    name: '502',
    behavior: { kind: 'status', status: 502, body: '<html>502 Bad Gateway</html>' },
    code: 'server_error',
  },
  { name: '503', behavior: { kind: 'status', status: 503 }, code: 'server_error' },
  {
    name: '503 overloaded',
    behavior: {
      kind: 'status',
      status: 503,
      body: {
        error: {
          message: 'The engine is currently overloaded, please try again later',
          type: 'server_error',
        },
      },
    },
    code: 'overloaded',
  },
  {
    name: '400 context_length_exceeded',
    behavior: { kind: 'status', status: 400, error: 'context-length' },
    code: 'context_length_exceeded',
    check: (error) => expect(error.fallbackable).toBe(true),
  },
  {
    name: '400 content filter',
    behavior: { kind: 'status', status: 400, error: 'content-filter' },
    code: 'content_filtered',
  },
  {
    name: '400 invalid request',
    behavior: { kind: 'status', status: 400 },
    code: 'invalid_request',
    check: (error) => expect(error.retryable).toBe(false),
  },
  { name: '401', behavior: { kind: 'status', status: 401 }, code: 'authentication' },
  { name: '403', behavior: { kind: 'status', status: 403 }, code: 'permission' },
  { name: '404', behavior: { kind: 'status', status: 404 }, code: 'not_found' },
  { name: 'connection reset', behavior: { kind: 'reset' }, code: 'connection_error' },
  {
    name: '200 with a body that is not JSON',
    behavior: { kind: 'malformed' },
    code: 'invalid_response',
    check: (error) => {
      expect(error.rawBody).toContain('chatcmpl-broken');
      expect(error.status).toBe(200);
    },
  },
];

describe('error mapping over real HTTP, one upstream request per attempt', () => {
  for (const row of errorRows) {
    it(`maps ${row.name}`, async () => {
      upstream.enqueue(row.behavior);
      const error = await failure(provider().complete(request, createTestCallContext()));
      expect(error.code).toBe(row.code);
      expect(error.provider).toBe('main');
      if (row.behavior.kind === 'status') {
        expect(error.status).toBe(row.behavior.status);
        expect(error.requestId).toBe(upstream.requests[0]!.id);
        expect(error.rawBody).toBeDefined();
      }
      row.check?.(error);
      expect(upstream.requests).toHaveLength(1);
      expect(JSON.stringify(error.toJSON())).not.toContain(apiKey);
    });
  }

  it('makes one request even through an injected client configured to retry', async () => {
    const client = new OpenAI({ apiKey, baseURL: upstream.openaiBaseURL, maxRetries: 5 });
    const injected = createOpenAIProvider({ client });
    upstream.setDefault({ kind: 'status', status: 503 });
    expect((await failure(injected.complete(request, createTestCallContext()))).code).toBe('server_error');
    upstream.setDefault({ kind: 'reset' });
    expect((await failure(injected.complete(request, createTestCallContext()))).code).toBe(
      'connection_error',
    );
    expect(upstream.requests).toHaveLength(2);
  });

  it('maps the SDK timeout to TimeoutError and closes the socket', async () => {
    upstream.enqueue({ kind: 'hang' });
    const error = await failure(provider({ timeoutMs: 150 }).complete(request, createTestCallContext()));
    expect(error).toMatchObject({ code: 'timeout', phase: 'first-token', timeoutMs: 150, retryable: true });
    await upstream.waitForConnections(0);
    expect(upstream.requests).toHaveLength(1);
  });

  it('reports the rate-limit headers of a 429 from the real token bucket', async () => {
    upstream.setRateLimit({ rpm: 1 });
    const events = createEventBus();
    const seen: RateLimitInfo[] = [];
    events.on('ratelimit:headers', (payload) => seen.push(payload.rateLimit));
    await provider().complete(request, createTestCallContext({ events }));
    const error = await failure(provider().complete(request, createTestCallContext({ events })));
    expect(error.code).toBe('rate_limited');
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(seen).toHaveLength(2);
    expect(seen[1]!.remainingRequests).toBe(0);
    expect(upstream.stats.rateLimited).toBe(1);
  });
});

async function collectEvents(iterable: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

describe('streaming over real HTTP', () => {
  it('streams start, text deltas, usage and finish, asking for usage', async () => {
    upstream.enqueue({
      kind: 'reply',
      text: 'one two three four',
      usage: { inputTokens: 11, outputTokens: 4 },
    });
    const events = await collectEvents(provider().stream(request, createTestCallContext({ stream: true })));
    const sent = upstream.requests[0]!.body as Record<string, unknown>;
    expect(sent).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(events[0]).toMatchObject({ type: 'start', provider: 'main', requestId: upstream.requests[0]!.id });
    expect((events[0] as { rateLimit?: RateLimitInfo }).rateLimit?.limitRequests).toBeTypeOf('number');
    expect(events.filter((event) => event.type === 'text-delta').length).toBeGreaterThan(1);
    expect(events.slice(-2)).toEqual([
      {
        type: 'usage',
        usage: {
          inputTokens: 11,
          outputTokens: 4,
          totalTokens: 15,
          cachedInputTokens: 0,
          reasoningTokens: 0,
        },
      },
      { type: 'finish', finishReason: 'stop' },
    ]);
    const response = await collectStream(provider().stream(request, createTestCallContext({ stream: true })));
    expect(response.text).toBe('echo: hello there');
  });

  it('assembles streamed tool calls by index', async () => {
    upstream.enqueue({
      kind: 'reply',
      text: '',
      toolCalls: [
        { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { id: 'call_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
      ],
    });
    const response = await collectStream(provider().stream(request, createTestCallContext({ stream: true })));
    expect(response.toolCalls).toEqual([
      { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
    ]);
    expect(response.finishReason).toBe('tool_calls');
  });

  it('maps a cut stream to ConnectionError and an in-stream error like its status', async () => {
    upstream.enqueue({ kind: 'cut', afterChunks: 2 });
    const cut = await failure(
      collectEvents(provider().stream(request, createTestCallContext({ stream: true }))),
    );
    expect(cut.code).toBe('connection_error');
    upstream.enqueue({ kind: 'stream-error', afterChunks: 2 });
    const overloaded = await failure(
      collectEvents(provider().stream(request, createTestCallContext({ stream: true }))),
    );
    expect(overloaded.code).toBe('overloaded');
    upstream.enqueue({
      kind: 'stream-error',
      afterChunks: 1,
      error: { type: 'server_error', message: 'boom' },
    });
    const server = await failure(
      collectEvents(provider().stream(request, createTestCallContext({ stream: true }))),
    );
    expect(server.code).toBe('server_error');
    upstream.enqueue({ kind: 'malformed' });
    const malformed = await failure(
      collectEvents(provider().stream(request, createTestCallContext({ stream: true }))),
    );
    expect(malformed.code).toBe('invalid_response');
    upstream.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    const limited = await failure(
      collectEvents(provider().stream(request, createTestCallContext({ stream: true }))),
    );
    expect(limited).toMatchObject({ code: 'rate_limited', retryAfterMs: 1000 });
    expect(upstream.requests).toHaveLength(5);
  });

  it('closes the upstream socket when the call aborts mid-stream', async () => {
    upstream.enqueue({ kind: 'stall', afterChunks: 2 });
    const controller = new AbortController();
    const iterator = provider()
      .stream(request, createTestCallContext({ stream: true, signal: controller.signal }))
      [Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ type: 'start' });
    await upstream.waitForConnections(1);
    const rest = (async () => {
      while (!(await iterator.next()).done) {
        // drain until the abort rejects
      }
    })();
    controller.abort();
    const error = await failure(rest);
    expect(error.code).toBe('aborted');
    await upstream.waitForConnections(0);
  });

  it('keeps a Bulwark abort reason (a timeout) and closes the socket while waiting for headers', async () => {
    upstream.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const call = collectEvents(
      provider().stream(request, createTestCallContext({ stream: true, signal: controller.signal })),
    );
    await upstream.waitForConnections(1);
    const { TimeoutError } = await import('@bulwark/core');
    const reason = new TimeoutError({ phase: 'first-token', timeoutMs: 10 });
    controller.abort(reason);
    expect(await failure(call)).toBe(reason);
    await upstream.waitForConnections(0);
  });

  it('closes the upstream socket when the consumer stops early', async () => {
    upstream.enqueue({ kind: 'reply', text: 'a b c d e f g h i j', chunkDelayMs: 20 });
    for await (const event of provider().stream(request, createTestCallContext({ stream: true }))) {
      if (event.type === 'text-delta') break;
    }
    await upstream.waitForConnections(0);
  });
});

describe('embed over real HTTP', () => {
  it('returns one vector per input, in order, with usage', async () => {
    const response = await provider().embed!(
      { model: 'text-embedding-3-small', input: ['alpha', 'beta'], dimensions: 8 },
      createTestCallContext(),
    );
    expect(upstream.requests[0]).toMatchObject({
      path: '/v1/embeddings',
      body: {
        model: 'text-embedding-3-small',
        input: ['alpha', 'beta'],
        encoding_format: 'float',
        dimensions: 8,
      },
    });
    expect(response.embeddings).toHaveLength(2);
    expect(response.embeddings[0]).toHaveLength(8);
    expect(response.embeddings[0]).not.toEqual(response.embeddings[1]);
    expect(response.usage?.inputTokens).toBeGreaterThan(0);
  });

  it('maps embedding errors and rejects bad input before any call', async () => {
    upstream.enqueue({ kind: 'status', status: 500 });
    const error = await failure(provider().embed!({ model: 'e', input: ['x'] }, createTestCallContext()));
    expect(error.code).toBe('server_error');
    const invalid = await failure(
      provider().embed!({ model: 'e', input: [3 as never] }, createTestCallContext()),
    );
    expect(invalid).toMatchObject({ code: 'invalid_request', field: 'input[0]' });
    expect(upstream.requests).toHaveLength(1);
  });
});
