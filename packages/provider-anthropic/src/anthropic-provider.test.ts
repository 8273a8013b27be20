import Anthropic from '@anthropic-ai/sdk';
import {
  type BulwarkError,
  type ChatRequest,
  collectStream,
  createEventBus,
  type RateLimitInfo,
  type StreamEvent,
  TimeoutError,
} from '@bulwark/core';
import {
  createFakeUpstream,
  createTestCallContext,
  type FakeBehavior,
  type FakeUpstream,
} from '@bulwark/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicProvider, DEFAULT_MAX_TOKENS } from './anthropic-provider.js';

const apiKey = 'sk-ant-test-integration-0123456789';
const model = 'claude-sonnet-4-20250514';
const request: ChatRequest = {
  model,
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'hello there' },
  ],
};

let upstream: FakeUpstream;

// A fresh upstream per test: socket counts then only see this test's connections.
beforeEach(async () => {
  upstream = await createFakeUpstream();
});
afterEach(async () => {
  await upstream.close();
});

const provider = (options: Parameters<typeof createAnthropicProvider>[0] = {}) =>
  createAnthropicProvider({ name: 'claude', apiKey, baseURL: upstream.anthropicBaseURL, ...options });

async function failure(promise: Promise<unknown>): Promise<BulwarkError> {
  try {
    await promise;
  } catch (error) {
    return error as BulwarkError;
  }
  throw new Error('expected the call to fail');
}

async function collectEvents(iterable: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

describe('complete over real HTTP', () => {
  it('sends the mapped body once with the default max_tokens and maps the answer and rate-limit headers', async () => {
    const events = createEventBus();
    const seen: RateLimitInfo[] = [];
    events.on('ratelimit:headers', (payload) => seen.push(payload.rateLimit));
    const response = await provider().complete(request, createTestCallContext({ events }));
    expect(upstream.requests).toHaveLength(1);
    const sent = upstream.requests[0]!;
    expect(sent.path).toBe('/v1/messages');
    // @anthropic-ai/sdk 0.x sends the key as x-api-key, 1.x as a bearer token.
    expect(sent.headers['x-api-key'] ?? sent.headers.authorization?.replace(/^Bearer /, '')).toBe(apiKey);
    expect(sent.headers['x-stainless-retry-count']).toBe('0');
    expect(sent.body).toEqual({
      model,
      max_tokens: DEFAULT_MAX_TOKENS,
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hello there' }] }],
    });
    expect(response).toMatchObject({
      provider: 'claude',
      text: 'echo: hello there',
      finishReason: 'stop',
      toolCalls: [],
    });
    expect(response.id).toMatch(/^msg_/);
    expect(response.requestId).toBe(sent.id);
    expect(response.usage?.inputTokens).toBeGreaterThan(0);
    expect(response.rateLimit?.remainingRequests).toBeTypeOf('number');
    expect(response.rateLimit?.resetRequestsMs).toBeTypeOf('number');
    expect(seen).toEqual([response.rateLimit]);
  });

  it('maps tool use and cache usage', async () => {
    upstream.enqueue({
      kind: 'reply',
      toolCalls: [{ id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
      usage: { inputTokens: 40, outputTokens: 9, cachedInputTokens: 30 },
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
    expect(response.toolCalls).toEqual([
      { id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
    ]);
    expect(response.finishReason).toBe('tool_calls');
    expect(response.usage).toMatchObject({ inputTokens: 40, outputTokens: 9, cachedInputTokens: 30 });
  });

  it('rejects bad input before any network call', async () => {
    const error = await failure(
      provider().complete(
        {
          model,
          messages: [{ role: 'user', content: 'x' }],
          tools: [{ name: 'f', parameters: { type: 'object', properties: 3 } }],
        },
        createTestCallContext(),
      ),
    );
    expect(error).toMatchObject({ code: 'invalid_request', field: 'tools[0].parameters.properties' });
    expect(upstream.requests).toHaveLength(0);
  });
});

const errorRows: Array<{
  name: string;
  behavior: FakeBehavior;
  code: string;
  check?: (error: BulwarkError) => void;
}> = [
  {
    name: '429 with retry-after seconds',
    behavior: { kind: 'status', status: 429, headers: { 'retry-after': '4' } },
    code: 'rate_limited',
    check: (error) => expect(error.retryAfterMs).toBe(4000),
  },
  {
    name: '429 with retry-after as an HTTP date',
    behavior: {
      kind: 'status',
      status: 429,
      headers: { 'retry-after': new Date(Date.now() + 30_000).toUTCString() },
    },
    code: 'rate_limited',
    check: (error) => {
      expect(error.retryAfterMs).toBeGreaterThan(27_000);
      expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
    },
  },
  {
    name: '429 with only anthropic-ratelimit RFC 3339 resets',
    behavior: {
      kind: 'status',
      status: 429,
      headers: {
        'anthropic-ratelimit-tokens-remaining': '0',
        'anthropic-ratelimit-tokens-reset': new Date(Date.now() + 45_000).toISOString(),
      },
    },
    code: 'rate_limited',
    check: (error) => {
      expect(error.retryAfterMs).toBeGreaterThan(40_000);
      expect(error.retryAfterMs).toBeLessThanOrEqual(45_000);
    },
  },
  { name: '529 overloaded_error', behavior: { kind: 'status', status: 529 }, code: 'overloaded' },
  { name: '500', behavior: { kind: 'status', status: 500 }, code: 'server_error' },
  {
    name: '502',
    behavior: { kind: 'status', status: 502, body: '<html>502 Bad Gateway</html>' },
    code: 'server_error',
  },
  { name: '503', behavior: { kind: 'status', status: 503 }, code: 'server_error' },
  {
    name: '400 prompt is too long',
    behavior: { kind: 'status', status: 400, error: 'context-length' },
    code: 'context_length_exceeded',
  },
  {
    name: '400 content filter',
    behavior: { kind: 'status', status: 400, error: 'content-filter' },
    code: 'content_filtered',
  },
  { name: '400 invalid request', behavior: { kind: 'status', status: 400 }, code: 'invalid_request' },
  { name: '401', behavior: { kind: 'status', status: 401 }, code: 'authentication' },
  { name: '403', behavior: { kind: 'status', status: 403 }, code: 'permission' },
  { name: '404', behavior: { kind: 'status', status: 404 }, code: 'not_found' },
  { name: 'connection reset', behavior: { kind: 'reset' }, code: 'connection_error' },
  {
    name: '200 with a body that is not JSON',
    behavior: { kind: 'malformed' },
    code: 'invalid_response',
    check: (error) => expect(error.rawBody).toContain('msg_broken'),
  },
];

describe('error mapping over real HTTP, one upstream request per attempt', () => {
  for (const row of errorRows) {
    it(`maps ${row.name}`, async () => {
      upstream.enqueue(row.behavior);
      const error = await failure(provider().complete(request, createTestCallContext()));
      expect(error.code).toBe(row.code);
      expect(error.provider).toBe('claude');
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
    const client = new Anthropic({ apiKey, baseURL: upstream.anthropicBaseURL, maxRetries: 5 });
    const injected = createAnthropicProvider({ client });
    upstream.setDefault({ kind: 'status', status: 529 });
    expect((await failure(injected.complete(request, createTestCallContext()))).code).toBe('overloaded');
    upstream.setDefault({ kind: 'reset' });
    expect((await failure(injected.complete(request, createTestCallContext()))).code).toBe(
      'connection_error',
    );
    expect(upstream.requests).toHaveLength(2);
  });

  it('maps the SDK timeout to TimeoutError and closes the socket', async () => {
    upstream.enqueue({ kind: 'hang' });
    const error = await failure(provider({ timeoutMs: 150 }).complete(request, createTestCallContext()));
    expect(error).toMatchObject({ code: 'timeout', phase: 'first-token', timeoutMs: 150 });
    await upstream.waitForConnections(0);
  });

  it('reads the rate-limit headers of a 429 from the real token bucket', async () => {
    upstream.setRateLimit({ rpm: 1 });
    await provider().complete(request, createTestCallContext());
    const error = await failure(provider().complete(request, createTestCallContext()));
    expect(error.code).toBe('rate_limited');
    expect(error.retryAfterMs).toBeGreaterThan(0);
  });
});

describe('streaming over real HTTP', () => {
  it('streams start, text deltas, usage and finish', async () => {
    upstream.enqueue({
      kind: 'reply',
      text: 'one two three four',
      usage: { inputTokens: 11, outputTokens: 4 },
    });
    const events = await collectEvents(provider().stream(request, createTestCallContext({ stream: true })));
    expect(upstream.requests[0]!.body).toMatchObject({ stream: true, max_tokens: DEFAULT_MAX_TOKENS });
    expect(events[0]).toMatchObject({
      type: 'start',
      provider: 'claude',
      requestId: upstream.requests[0]!.id,
    });
    expect((events[0] as { rateLimit?: RateLimitInfo }).rateLimit?.limitRequests).toBeTypeOf('number');
    expect(events.filter((event) => event.type === 'text-delta').length).toBeGreaterThan(1);
    expect(events.slice(-2)).toEqual([
      {
        type: 'usage',
        usage: expect.objectContaining({ inputTokens: 11, outputTokens: 4, totalTokens: 15 }),
      },
      { type: 'finish', finishReason: 'stop' },
    ]);
    const response = await collectStream(provider().stream(request, createTestCallContext({ stream: true })));
    expect(response.text).toBe('echo: hello there');
  });

  it('assembles streamed tool input JSON deltas', async () => {
    upstream.enqueue({
      kind: 'reply',
      text: 'Checking.',
      toolCalls: [
        { id: 'toolu_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { id: 'toolu_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
      ],
    });
    const response = await collectStream(provider().stream(request, createTestCallContext({ stream: true })));
    expect(response.text).toBe('Checking.');
    expect(response.toolCalls).toEqual([
      { id: 'toolu_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'toolu_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
    ]);
    expect(response.finishReason).toBe('tool_calls');
  });

  it('maps a cut stream, in-stream error events and a malformed event', async () => {
    upstream.enqueue({ kind: 'cut', afterChunks: 3 });
    expect(
      (await failure(collectEvents(provider().stream(request, createTestCallContext({ stream: true })))))
        .code,
    ).toBe('connection_error');
    upstream.enqueue({ kind: 'stream-error', afterChunks: 3 });
    const overloaded = await failure(
      collectEvents(provider().stream(request, createTestCallContext({ stream: true }))),
    );
    expect(overloaded.code).toBe('overloaded');
    expect(overloaded.usage?.inputTokens).toBeGreaterThan(0);
    upstream.enqueue({
      kind: 'stream-error',
      afterChunks: 1,
      error: { type: 'rate_limit_error', message: 'slow' },
    });
    expect(
      (await failure(collectEvents(provider().stream(request, createTestCallContext({ stream: true })))))
        .code,
    ).toBe('rate_limited');
    upstream.enqueue({ kind: 'stream-error', afterChunks: 1, error: { type: 'api_error', message: 'oops' } });
    expect(
      (await failure(collectEvents(provider().stream(request, createTestCallContext({ stream: true })))))
        .code,
    ).toBe('server_error');
    upstream.enqueue({ kind: 'malformed' });
    expect(
      (await failure(collectEvents(provider().stream(request, createTestCallContext({ stream: true })))))
        .code,
    ).toBe('invalid_response');
    upstream.enqueue({ kind: 'status', status: 529 });
    expect(
      (await failure(collectEvents(provider().stream(request, createTestCallContext({ stream: true })))))
        .code,
    ).toBe('overloaded');
    expect(upstream.requests).toHaveLength(6);
  });

  it('closes the upstream socket when the call aborts mid-stream', async () => {
    upstream.enqueue({ kind: 'stall', afterChunks: 3 });
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
    expect((await failure(rest)).code).toBe('aborted');
    await upstream.waitForConnections(0);
  });

  it('keeps a Bulwark abort reason (a timeout) and closes the socket while waiting for headers', async () => {
    upstream.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const call = failure(
      collectEvents(
        provider().stream(request, createTestCallContext({ stream: true, signal: controller.signal })),
      ),
    );
    await upstream.waitForConnections(1);
    const reason = new TimeoutError({ phase: 'first-token', timeoutMs: 10 });
    controller.abort(reason);
    expect(await call).toBe(reason);
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
