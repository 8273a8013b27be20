import { createAnthropic } from '@ai-sdk/anthropic';
import { createAnthropic as createAnthropicV3 } from '@ai-sdk/anthropic-v3';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError } from '@ai-sdk/provider';
import { type ChatRequest, createBulwark, type StreamEvent } from '@bulwark/core';
import { createFakeUpstream, createTestCallContext, type FakeUpstream } from '@bulwark/testkit';
import { generateText } from 'ai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAISDKProvider } from './aisdk-provider.js';
import { bulwarkModel } from './bulwark-model.js';
import { errorFromAISDK } from './error-mapping.js';

const apiKey = 'sk-test-mapping-0123456789';
const pixel =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
let upstream: FakeUpstream;

beforeEach(async () => {
  upstream = await createFakeUpstream();
});
afterEach(async () => {
  await upstream.close();
});

const richRequest: ChatRequest = {
  model: 'claude-haiku-4-5',
  maxTokens: 100,
  temperature: 0.3,
  stop: ['END'],
  messages: [
    { role: 'system', content: 'You are terse.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'what is in the picture and the file?' },
        { type: 'image', data: pixel, mediaType: 'image/png' },
        { type: 'file', data: Buffer.from('%PDF-1.4 tiny').toString('base64'), mediaType: 'application/pdf' },
      ],
    },
    {
      role: 'assistant',
      content: 'let me check',
      reasoning: [{ type: 'reasoning', text: 'I should call two tools', signature: 'sig-abc' }],
      toolCalls: [
        { id: 'toolu_1', name: 'lookup', arguments: '{"q":"a"}' },
        { id: 'toolu_2', name: 'lookup', arguments: '{"q":"b"}' },
      ],
    },
    { role: 'tool', toolCallId: 'toolu_1', content: 'result a' },
    { role: 'tool', toolCallId: 'toolu_2', content: 'failed b', isError: true },
  ],
  tools: [
    {
      name: 'lookup',
      description: 'Look up',
      parameters: { type: 'object', properties: { q: { type: 'string' } } },
    },
  ],
  toolChoice: 'auto',
};

type AnthropicBody = {
  system?: Array<{ text: string }>;
  messages: Array<{ role: string; content: Array<Record<string, unknown>> }>;
  stop_sequences?: string[];
  max_tokens: number;
  temperature?: number;
};

describe.each([
  ['v4', (id: string) => createAnthropic({ baseURL: `${upstream.anthropicBaseURL}/v1`, apiKey })(id)],
  ['v3', (id: string) => createAnthropicV3({ baseURL: `${upstream.anthropicBaseURL}/v1`, apiKey })(id)],
])('request mapping through @ai-sdk/anthropic (spec %s)', (_version, model) => {
  it('sends system, images, files, reasoning with its signature, tool calls and grouped tool results', async () => {
    const provider = createAISDKProvider({ name: 'claude', model });
    const response = await provider.complete(richRequest, createTestCallContext());
    expect(response.text).toBe('echo: result afailed b');
    const body = upstream.requests[0]?.body as AnthropicBody;
    expect(body.system?.[0]?.text).toBe('You are terse.');
    expect(body.max_tokens).toBe(100);
    expect(body.temperature).toBe(0.3);
    expect(body.stop_sequences).toEqual(['END']);
    const [user, assistant, results] = body.messages;
    expect(user?.content.map((part) => part.type)).toEqual(['text', 'image', 'document']);
    expect(user?.content[1]).toMatchObject({
      source: { type: 'base64', media_type: 'image/png', data: pixel },
    });
    expect(assistant?.content).toEqual([
      { type: 'thinking', thinking: 'I should call two tools', signature: 'sig-abc' },
      { type: 'text', text: 'let me check' },
      { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'a' } },
      { type: 'tool_use', id: 'toolu_2', name: 'lookup', input: { q: 'b' } },
    ]);
    expect(results?.role).toBe('user');
    expect(results?.content).toMatchObject([
      { type: 'tool_result', tool_use_id: 'toolu_1', content: 'result a' },
      { type: 'tool_result', tool_use_id: 'toolu_2', content: 'failed b', is_error: true },
    ]);
  });
});

describe('response mapping', () => {
  it('streams Anthropic thinking as reasoning deltas with the signature', async () => {
    const frames = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_think","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":10,"output_tokens":1}}}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think."}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig-xyz"}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Four."}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":12}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ];
    upstream.enqueue({ kind: 'raw', frames });
    const provider = createAISDKProvider({
      name: 'claude',
      model: (id) => createAnthropic({ baseURL: `${upstream.anthropicBaseURL}/v1`, apiKey })(id),
    });
    const events: StreamEvent[] = [];
    for await (const event of provider.stream(
      {
        model: 'claude-haiku-4-5',
        messages: [{ role: 'user', content: '2+2?' }],
        reasoning: { budgetTokens: 2000 },
      },
      createTestCallContext({ stream: true }),
    ))
      events.push(event);
    expect(events.filter((event) => event.type === 'reasoning-delta')).toEqual([
      { type: 'reasoning-delta', text: 'Let me think.' },
      { type: 'reasoning-delta', signature: 'sig-xyz' },
    ]);
    expect(events.find((event) => event.type === 'start')).toMatchObject({
      id: 'msg_think',
      model: 'claude-haiku-4-5',
    });
    expect(events.find((event) => event.type === 'usage')).toMatchObject({
      usage: { inputTokens: 10, outputTokens: 12 },
    });
    const sent = upstream.requests[0]?.body as { thinking?: { type: string; budget_tokens?: number } };
    expect(sent.thinking?.type).toBe('enabled');
  });

  it('puts Anthropic thinking with its signature on the answer, and usage with cache reads', async () => {
    upstream.enqueue({
      kind: 'raw',
      body: JSON.stringify({
        id: 'msg_plain_think',
        type: 'message',
        role: 'assistant',
        model: 'claude-haiku-4-5',
        content: [
          { type: 'thinking', thinking: 'Two and two.', signature: 'sig-plain' },
          { type: 'text', text: 'Four.' },
        ],
        stop_reason: 'max_tokens',
        usage: { input_tokens: 7, cache_read_input_tokens: 3, output_tokens: 9 },
      }),
    });
    const provider = createAISDKProvider({
      name: 'claude',
      model: (id) => createAnthropic({ baseURL: `${upstream.anthropicBaseURL}/v1`, apiKey })(id),
    });
    const response = await provider.complete(
      { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: '2+2?' }] },
      createTestCallContext(),
    );
    expect(response).toMatchObject({
      id: 'msg_plain_think',
      text: 'Four.',
      finishReason: 'length',
      reasoning: [{ type: 'reasoning', text: 'Two and two.', signature: 'sig-plain' }],
      usage: { inputTokens: 10, outputTokens: 9, totalTokens: 19, cachedInputTokens: 3 },
    });
  });

  it('maps a JSON-schema response format and passes providerOptions through', async () => {
    upstream.enqueue({ kind: 'reply', text: '{"ok":true}' });
    const provider = createAISDKProvider({
      name: 'openai',
      model: (id) => createOpenAI({ baseURL: upstream.openaiBaseURL, apiKey }).chat(id),
    });
    const response = await provider.complete(
      {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'json please' }],
        responseFormat: {
          type: 'json_schema',
          name: 'answer',
          schema: { type: 'object', properties: { ok: { type: 'boolean' } } },
        },
        providerOptions: { openai: { user: 'user-42' } },
      },
      createTestCallContext(),
    );
    expect(response.text).toBe('{"ok":true}');
    const body = upstream.requests[0]?.body as {
      response_format?: { type: string; json_schema?: { name: string } };
      user?: string;
    };
    expect(body.response_format?.type).toBe('json_schema');
    expect(body.response_format?.json_schema?.name).toBe('answer');
    expect(body.user).toBe('user-42');
  });

  it('bulwarkModel carries AI SDK images to the provider as image parts', async () => {
    const bulwark = createBulwark({
      providers: [
        createAISDKProvider({
          name: 'openai',
          model: (id) => createOpenAI({ baseURL: upstream.openaiBaseURL, apiKey }).chat(id),
        }),
      ],
      models: { vision: [{ provider: 'openai', model: 'gpt-4o' }] },
    });
    await generateText({
      model: bulwarkModel(bulwark, 'vision'),
      maxRetries: 0,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'describe' },
            { type: 'image', image: Buffer.from(pixel, 'base64'), mediaType: 'image/png' },
          ],
        },
      ],
    });
    const body = upstream.requests[0]?.body as {
      messages: Array<{ content: Array<Record<string, unknown>> }>;
    };
    expect(body.messages[0]?.content[1]).toEqual({
      type: 'image_url',
      image_url: { url: `data:image/png;base64,${pixel}` },
    });
    await bulwark.close();
  });
});

describe('error mapping', () => {
  const scope = {
    provider: 'p',
    model: 'm',
    signal: new AbortController().signal,
    now: Date.parse('2026-01-01T00:00:00Z'),
  };

  it('a 429 without retry-after waits for the reset of the exhausted Anthropic allowance', () => {
    const error = errorFromAISDK(
      new APICallError({
        message: 'rate limited',
        url: 'http://127.0.0.1/v1/messages',
        requestBodyValues: {},
        statusCode: 429,
        responseHeaders: {
          'anthropic-ratelimit-requests-limit': '50',
          'anthropic-ratelimit-requests-remaining': '0',
          'anthropic-ratelimit-requests-reset': '2026-01-01T00:00:09Z',
          'request-id': 'req_1',
        },
        responseBody: '{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}',
        isRetryable: true,
      }),
      scope,
    );
    expect(error.code).toBe('rate_limited');
    expect(error.retryAfterMs).toBe(9000);
    expect(error.requestId).toBe('req_1');
    expect(error.message).toContain('slow down');
  });

  it('reads Google error bodies and in-stream error payloads', () => {
    const exhausted = errorFromAISDK(
      new APICallError({
        message: 'quota',
        url: 'http://127.0.0.1/v1beta/models/x:generateContent',
        requestBodyValues: {},
        statusCode: 429,
        responseBody:
          '{"error":{"code":429,"message":"You exceeded your current quota","status":"RESOURCE_EXHAUSTED"}}',
      }),
      scope,
    );
    expect(exhausted.code).toBe('rate_limited');
    expect(exhausted.message).toContain('exceeded your current quota');
    expect(errorFromAISDK({ type: 'overloaded_error', message: 'Overloaded' }, scope).code).toBe(
      'overloaded',
    );
    expect(errorFromAISDK({ error: { code: 503, status: 'UNAVAILABLE', message: 'busy' } }, scope).code).toBe(
      'overloaded',
    );
    expect(errorFromAISDK({ type: 'api_error', message: 'boom' }, scope).code).toBe('server_error');
  });

  it('an abort of the call wins over what the SDK threw', () => {
    const controller = new AbortController();
    controller.abort();
    expect(errorFromAISDK(new Error('whatever'), { ...scope, signal: controller.signal }).code).toBe(
      'aborted',
    );
  });
});
