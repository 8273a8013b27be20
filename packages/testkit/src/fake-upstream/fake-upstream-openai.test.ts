import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFakeUpstream } from './fake-upstream.js';
import type { FakeUpstream } from './types.js';

let upstream: FakeUpstream;
let client: OpenAI;

beforeAll(async () => {
  upstream = await createFakeUpstream();
  client = new OpenAI({ apiKey: 'sk-test-openai', baseURL: upstream.openaiBaseURL, maxRetries: 0 });
});
afterEach(() => upstream.reset());
afterAll(() => upstream.close());

const messages = [{ role: 'user' as const, content: 'hello there world' }];
const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

describe('fake upstream through the openai SDK', () => {
  it('answers a plain completion byte for byte in the API shape', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.id).toMatch(/^chatcmpl-[A-Za-z0-9]{29}$/);
    expect(data.model).toBe('gpt-4o-mini');
    expect(data.choices[0]?.message.content).toBe('echo: hello there world');
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 });
    expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]).toMatchObject({
      format: 'openai',
      method: 'POST',
      path: '/v1/chat/completions',
      id: response.headers.get('x-request-id'),
      body: { model: 'gpt-4o-mini', messages },
    });
    expect(upstream.requests[0]?.headers.authorization).toBe('Bearer sk-test-openai');
  });

  it('streams SSE chunks whose deltas join to the text, with the usage chunk when asked', async () => {
    upstream.enqueue({ kind: 'reply', text: 'one two three', usage: { inputTokens: 7, outputTokens: 3 } });
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('one two three');
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content).length).toBe(3);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
  });

  it('omits the usage chunk when the request did not ask for it', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.some((chunk) => 'usage' in chunk)).toBe(false);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('answers tool calls as JSON and as streamed deltas the SDK assembles', async () => {
    const toolCalls = [
      { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { name: 'get_time', arguments: '{"zone":"Europe/Paris"}' },
    ];
    upstream.enqueue({ kind: 'reply', toolCalls }, { kind: 'reply', toolCalls });
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      tools: [weatherTool],
    });
    const calls = completion.choices[0]?.message.tool_calls ?? [];
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.choices[0]?.message.content).toBeNull();
    expect(
      calls.map((call) => call.type === 'function' && [call.id, call.function.name, call.function.arguments]),
    ).toEqual([
      ['call_a', 'get_weather', '{"city":"Paris"}'],
      [expect.stringMatching(/^call_[A-Za-z0-9]{24}$/), 'get_time', '{"zone":"Europe/Paris"}'],
    ]);

    const runner = client.chat.completions.stream({ model: 'gpt-4o-mini', messages, tools: [weatherTool] });
    const final = await runner.finalChatCompletion();
    const streamed = final.choices[0]?.message.tool_calls ?? [];
    expect(streamed.map((call) => call.type === 'function' && call.function.arguments)).toEqual([
      '{"city":"Paris"}',
      '{"zone":"Europe/Paris"}',
    ]);
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('echoes the content of a tool result after a tool round trip', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        ...messages,
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      ],
    });
    expect(completion.choices[0]?.message.content).toBe('echo: sunny');
  });

  it('answers statuses with the real error body and headers', async () => {
    upstream.enqueue(
      { kind: 'status', status: 429, headers: { 'retry-after': '2' } },
      { kind: 'status', status: 400, error: 'context-length' },
      { kind: 'status', status: 500 },
      { kind: 'status', status: 404 },
    );
    const rateLimited = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages })
      .catch((e) => e);
    expect(rateLimited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(rateLimited.headers.get('retry-after')).toBe('2');
    expect(rateLimited.code).toBe('rate_limit_exceeded');
    const tooLong = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e) => e);
    expect(tooLong).toBeInstanceOf(OpenAI.BadRequestError);
    expect(tooLong.code).toBe('context_length_exceeded');
    expect(tooLong.requestID).toMatch(/^req_/);
    const server = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e) => e);
    expect(server).toBeInstanceOf(OpenAI.InternalServerError);
    expect(server.type).toBe('server_error');
    const missing = await client.chat.completions.create({ model: 'gpt-nope', messages }).catch((e) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.message).toContain('gpt-nope');
    expect(upstream.requests).toHaveLength(4);
  });

  it('resets the socket, sends malformed JSON, cuts, stalls and errors streams', async () => {
    upstream.enqueue({ kind: 'reset' });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages })).rejects.toBeInstanceOf(
      OpenAI.APIConnectionError,
    );

    upstream.enqueue({ kind: 'malformed' });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages })).rejects.toThrow(/JSON/);

    upstream.enqueue({ kind: 'cut', afterChunks: 2 });
    const cut = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of cut) seen.push(chunk.choices[0]?.delta.content ?? '');
      })(),
    ).rejects.toThrow();
    expect(seen).toEqual(['', 'echo:']);

    upstream.enqueue({
      kind: 'stream-error',
      afterChunks: 1,
      error: { type: 'server_error', message: 'boom' },
    });
    const failing = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    await expect(
      (async () => {
        for await (const _chunk of failing) {
          // drain
        }
      })(),
    ).rejects.toThrow(/boom/);
  });

  it('stalls a stream with the socket open until the client aborts', async () => {
    const own = await createFakeUpstream();
    const ownClient = new OpenAI({ apiKey: 'sk-test-openai', baseURL: own.openaiBaseURL, maxRetries: 0 });
    own.enqueue({ kind: 'stall', afterChunks: 2 });
    const controller = new AbortController();
    const stalled = await ownClient.chat.completions.create(
      { model: 'gpt-4o-mini', messages, stream: true },
      { signal: controller.signal },
    );
    const iterator = stalled[Symbol.asyncIterator]();
    expect((await iterator.next()).value.choices[0].delta.role).toBe('assistant');
    expect((await iterator.next()).value.choices[0].delta.content).toBe('echo:');
    const pending = iterator.next();
    expect(own.openConnections()).toBe(1);
    controller.abort();
    // The SDK ends the iteration quietly on abort; what matters is that the socket closed.
    await pending.catch(() => undefined);
    await own.waitForConnections(0);
    await own.close();
  });

  it('hangs and delays until the client gives up, leaving no socket behind', async () => {
    const own = await createFakeUpstream();
    const ownClient = new OpenAI({ apiKey: 'sk-test-openai', baseURL: own.openaiBaseURL, maxRetries: 0 });
    // biome-ignore lint/suspicious/noThenProperty: `then` of a delay behavior is an object, never a thenable.
    own.enqueue({ kind: 'hang' }, { kind: 'delay', ms: 30, then: { kind: 'reply', text: 'late' } });
    await expect(
      ownClient.chat.completions.create({ model: 'gpt-4o-mini', messages }, { timeout: 100 }),
    ).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    await own.waitForConnections(0);
    const late = await ownClient.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(late.choices[0]?.message.content).toBe('late');
    await own.close();
    expect(own.openConnections()).toBe(0);
  });

  it('enforces RPM with a token bucket, answering 429 with retry-after and rate-limit headers', async () => {
    upstream.setRateLimit({ rpm: 2 });
    const first = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(first.response.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect(first.response.headers.get('x-ratelimit-reset-requests')).toMatch(/^(29|30)s$|^\d+(\.\d+)?s$/);
    expect(first.response.headers.get('x-ratelimit-limit-tokens')).toBe('2000000');
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const error = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const retryAfter = Number(error.headers.get('retry-after'));
    const retryAfterMs = Number(error.headers.get('retry-after-ms'));
    // Two requests per minute refill one every 30 s: the wait is at most that, and the header rounds up.
    expect(retryAfterMs).toBeGreaterThan(29_000);
    expect(retryAfterMs).toBeLessThanOrEqual(30_000);
    expect(retryAfter).toBe(Math.ceil(retryAfterMs / 1000));
    expect(error.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(error.message).toContain('requests per min (RPM): Limit 2');
    expect(upstream.stats).toEqual({ requests: 3, rateLimited: 1 });
  });

  it('enforces TPM from the prompt estimate plus max_tokens', async () => {
    upstream.setRateLimit({ tpm: 100 });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 60 });
    const error = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages, max_tokens: 60 })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.type).toBe('tokens');
    expect(Number(error.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('serves deterministic embeddings (base64 as the SDK asks, and floats) and lists models', async () => {
    const first = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['red apple', 'red apples'],
    });
    const again = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'red apple',
      encoding_format: 'float',
    });
    expect(first.data).toHaveLength(2);
    expect(first.data[0]?.embedding).toHaveLength(1536);
    const [a, b] = [first.data[0]?.embedding ?? [], again.data[0]?.embedding ?? []];
    for (const [index, value] of a.entries()) expect(value).toBeCloseTo(b[index] ?? Number.NaN, 6);
    expect(first.usage.prompt_tokens).toBeGreaterThan(0);
    expect(upstream.requests.map((request) => request.format)).toEqual(['embeddings', 'embeddings']);
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toContain('gpt-4o-mini');
  });

  it('validates required fields like the API does', async () => {
    const error = await client.chat.completions
      .create({ model: 'gpt-4o-mini' } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.message).toContain("'messages'");
  });
});

describe('fake upstream scheduling', () => {
  it('uses a delay default as latency before a normal reply', async () => {
    const own = await createFakeUpstream({ defaultBehavior: { kind: 'delay', ms: 40 } });
    const ownClient = new OpenAI({ apiKey: 'sk-test-openai', baseURL: own.openaiBaseURL, maxRetries: 0 });
    const startedAt = Date.now();
    const completion = await ownClient.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(39);
    expect(completion.choices[0]?.message.content).toBe('echo: hello there world');
    await own.close();
  });

  it('spaces SSE chunks by chunkDelayMs', async () => {
    upstream.enqueue({ kind: 'reply', text: 'a b c', chunkDelayMs: 15 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const arrivals: number[] = [];
    for await (const _chunk of stream) arrivals.push(Date.now());
    // role, three deltas, finish: four gaps of at least 15 ms each (minus timer granularity).
    expect(arrivals).toHaveLength(5);
    expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(4 * 15 - 4);
  });

  it('keeps a queued behavior for the request after a rate-limited one', async () => {
    upstream.setRateLimit({ rpm: 1 });
    upstream.enqueue({ kind: 'status', status: 503 });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages })).rejects.toBeInstanceOf(
      OpenAI.InternalServerError,
    );
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages })).rejects.toBeInstanceOf(
      OpenAI.RateLimitError,
    );
    upstream.enqueue({ kind: 'reply', text: 'queued' });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages })).rejects.toBeInstanceOf(
      OpenAI.RateLimitError,
    );
    upstream.setRateLimit(undefined);
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(completion.choices[0]?.message.content).toBe('queued');
  });

  it('keeps only the newest requests when asked to', async () => {
    const own = await createFakeUpstream({ maxRecordedRequests: 2 });
    const ownClient = new OpenAI({ apiKey: 'sk-test-openai', baseURL: own.openaiBaseURL, maxRetries: 0 });
    for (const content of ['one', 'two', 'three']) {
      await ownClient.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content }],
      });
    }
    expect(
      own.requests.map(
        (request) => (request.body as { messages: Array<{ content: string }> }).messages[0]?.content,
      ),
    ).toEqual(['two', 'three']);
    expect(own.stats.requests).toBe(3);
    await own.close();
  });
});
