import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFakeUpstream } from './fake-upstream.js';
import type { FakeUpstream } from './types.js';

let upstream: FakeUpstream;
let client: Anthropic;

beforeAll(async () => {
  upstream = await createFakeUpstream();
  client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: upstream.anthropicBaseURL, maxRetries: 0 });
});
afterEach(() => upstream.reset());
afterAll(() => upstream.close());

const base = {
  model: 'claude-haiku-4-5',
  max_tokens: 256,
  messages: [{ role: 'user' as const, content: 'hello claude' }],
};

async function drain(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const events: unknown[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('fake upstream through the @anthropic-ai/sdk', () => {
  it('answers a plain message in the API shape with a request id', async () => {
    const { data, response } = await client.messages.create(base).withResponse();
    expect(data).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-haiku-4-5',
      content: [{ type: 'text', text: 'echo: hello claude' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 3, output_tokens: 5, cache_read_input_tokens: 0 },
    });
    expect(data.id).toMatch(/^msg_01[A-Za-z0-9]{22}$/);
    expect(response.headers.get('request-id')).toMatch(/^req_011C/);
    expect(upstream.requests[0]).toMatchObject({ format: 'anthropic', path: '/v1/messages', body: base });
    expect(upstream.requests[0]?.headers['x-api-key']).toBe('sk-ant-test');
    expect(upstream.requests[0]?.headers['anthropic-version']).toBeDefined();
  });

  it('streams the event sequence the SDK accumulates, including usage', async () => {
    upstream.enqueue({
      kind: 'reply',
      text: 'alpha beta',
      usage: { inputTokens: 12, outputTokens: 4, cachedInputTokens: 2 },
    });
    const stream = await client.messages.create({ ...base, stream: true });
    const events = (await drain(stream)) as Array<{ type: string; delta?: { type: string; text?: string } }>;
    expect(events.map((event) => event.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events.map((event) => event.delta?.text ?? '').join('')).toBe('alpha beta');
    expect(events[0]).toMatchObject({ message: { usage: { input_tokens: 10, cache_read_input_tokens: 2 } } });
    expect(events[5]).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 4 } });
  });

  it('streams tool_use blocks with input_json_delta that the SDK assembles', async () => {
    const toolCalls = [{ id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' }];
    upstream.enqueue({ kind: 'reply', text: 'Let me check.', toolCalls }, { kind: 'reply', toolCalls });
    const final = await client.messages.stream(base).finalMessage();
    expect(final.content).toEqual([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris', unit: 'c' } },
    ]);
    expect(final.stop_reason).toBe('tool_use');
    const plain = await client.messages.create(base);
    expect(plain.content).toEqual([
      { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris', unit: 'c' } },
    ]);
  });

  it('echoes a tool_result after a tool round trip', async () => {
    const message = await client.messages.create({
      ...base,
      messages: [
        ...base.messages,
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' }] },
      ],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'echo: sunny' }]);
  });

  it('answers statuses with Anthropic error bodies (529 overloaded_error)', async () => {
    upstream.enqueue(
      { kind: 'status', status: 529 },
      { kind: 'status', status: 429, headers: { 'retry-after': '3' } },
      { kind: 'status', status: 400, error: 'context-length' },
      { kind: 'status', status: 401 },
    );
    const overloaded = await client.messages.create(base).catch((e) => e);
    expect(overloaded).toBeInstanceOf(Anthropic.APIError);
    expect(overloaded.status).toBe(529);
    expect(overloaded.error).toMatchObject({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    expect(overloaded.requestID).toMatch(/^req_011C/);
    const limited = await client.messages.create(base).catch((e) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect(limited.headers.get('retry-after')).toBe('3');
    const tooLong = await client.messages.create(base).catch((e) => e);
    expect(tooLong).toBeInstanceOf(Anthropic.BadRequestError);
    expect(tooLong.message).toContain('prompt is too long');
    const unauthorized = await client.messages.create(base).catch((e) => e);
    expect(unauthorized).toBeInstanceOf(Anthropic.AuthenticationError);
  });

  it('sends an in-stream error event, cuts streams and resets sockets', async () => {
    upstream.enqueue({ kind: 'stream-error', afterChunks: 3 });
    const failing = await client.messages.create({ ...base, stream: true });
    const error = await drain(failing).catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(error.message).toContain('overloaded_error');

    upstream.enqueue({ kind: 'cut', afterChunks: 2 });
    const cut = await client.messages.create({ ...base, stream: true });
    await expect(drain(cut)).rejects.toThrow();

    upstream.enqueue({ kind: 'reset' });
    await expect(client.messages.create(base)).rejects.toBeInstanceOf(Anthropic.APIConnectionError);

    upstream.enqueue({ kind: 'malformed' });
    await expect(client.messages.create(base)).rejects.toThrow(/JSON/);
  });

  it('requires max_tokens as the API does', async () => {
    const { max_tokens: _omitted, ...withoutMaxTokens } = base;
    const error = await client.messages
      .create(withoutMaxTokens as unknown as Anthropic.MessageCreateParamsNonStreaming)
      .catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error.message).toContain('max_tokens: Field required');
  });

  it('sends anthropic-ratelimit-* headers with RFC 3339 resets and a retry-after on 429', async () => {
    upstream.setRateLimit({ rpm: 1, tpm: 10_000 });
    const { response } = await client.messages.create(base).withResponse();
    expect(response.headers.get('anthropic-ratelimit-requests-limit')).toBe('1');
    expect(response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    const reset = response.headers.get('anthropic-ratelimit-requests-reset') ?? '';
    expect(reset).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Date.parse(reset) - Date.now()).toBeGreaterThan(58_000);
    expect(response.headers.get('anthropic-ratelimit-tokens-limit')).toBe('10000');
    expect(Number(response.headers.get('anthropic-ratelimit-tokens-remaining'))).toBe(10_000 - 3 - 256);
    const error = await client.messages.create(base).catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect(error.error.error.type).toBe('rate_limit_error');
    expect(Number(error.headers.get('retry-after'))).toBe(60);
  });
});
