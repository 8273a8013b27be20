import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import { generateText, jsonSchema, streamText, tool } from 'ai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';
import { captureLogs } from './test-helpers/log-capture.js';

// The Vercel AI SDK's own providers pointed at the gateway (issue 13, "through real clients"): the
// Anthropic provider sees the thinking of a same-format answer and of an answer translated from an
// OpenAI-format target; the OpenAI chat provider gets its tool call with parsed arguments.

const upstreamKey = 'sk-test-ai-sdk-clients-0123456789';
let upstream: FakeUpstream;
let gateway: Gateway;
let anthropic: ReturnType<typeof createAnthropic>;
let openai: ReturnType<typeof createOpenAI>;
const logs = captureLogs();

beforeAll(async () => {
  upstream = await createFakeUpstream({ apiKey: upstreamKey });
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      providers: {
        claude: { plugin: 'anthropic', baseURL: upstream.anthropicBaseURL, apiKey: upstreamKey },
        oai: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: upstreamKey },
      },
      models: {
        sonnet: [{ provider: 'claude', model: 'claude-sonnet-4-5' }],
        gpt: [{ provider: 'oai', model: 'gpt-4o' }],
        reasoner: [{ provider: 'oai', model: 'o4-mini' }],
        'claude-for-openai': [{ provider: 'claude', model: 'claude-sonnet-4-5' }],
      },
      retry: false,
      breaker: false,
      // Off: every answer must come from the canned upstream reply of its own test.
      cache: false,
      log: { level: 'error' },
    },
    logger: logs.logger,
  });
  const url = await gateway.listen();
  anthropic = createAnthropic({ baseURL: `${url}/v1`, apiKey: 'client-key-unused' });
  openai = createOpenAI({ baseURL: `${url}/v1`, apiKey: 'client-key-unused' });
});

afterEach(() => upstream.reset());

afterAll(async () => {
  await gateway.close({ drainTimeoutMs: 0 });
  await upstream.close();
});

const signature = 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds';
const thinkingOptions = { anthropic: { thinking: { type: 'enabled', budgetTokens: 1024 } } } as const;

/** The Anthropic signature the AI SDK keeps on a reasoning part (to send it back on the next turn). */
function signatureOf(part: unknown): unknown {
  type Metadata = { anthropic?: { signature?: unknown } };
  const reasoning = part as { providerMetadata?: Metadata; providerOptions?: Metadata } | undefined;
  return (reasoning?.providerMetadata ?? reasoning?.providerOptions)?.anthropic?.signature;
}

const anthropicJson = JSON.stringify({
  id: 'msg_ai_sdk_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    { type: 'thinking', thinking: 'The user greets me; answer briefly.', signature },
    { type: 'text', text: 'Hello there.' },
  ],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 20 },
});

const event = (type: string, data: Record<string, unknown>) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const anthropicFrames = [
  event('message_start', {
    message: {
      id: 'msg_ai_sdk_2',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 1 },
    },
  }),
  event('ping', {}),
  event('content_block_start', {
    index: 0,
    content_block: { type: 'thinking', thinking: '', signature: '' },
  }),
  event('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'Streamed ' } }),
  event('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'thought.' } }),
  event('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature } }),
  event('content_block_stop', { index: 0 }),
  event('content_block_start', { index: 1, content_block: { type: 'text', text: '' } }),
  event('content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'Hi!' } }),
  event('content_block_stop', { index: 1 }),
  event('message_delta', {
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: 15 },
  }),
  event('message_stop', {}),
];

const openAIChunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-ai-sdk',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'o4-mini',
    choices: [{ index: 0, delta, finish_reason: null, ...extra }],
  })}\n\n`;
const usageChunk = `data: ${JSON.stringify({
  id: 'chatcmpl-ai-sdk',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'o4-mini',
  choices: [],
  usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
})}\n\n`;

describe("@ai-sdk/anthropic through the gateway: the answer's thinking reaches reasoningText", () => {
  it('generateText, same-format passthrough: thinking with its signature', async () => {
    upstream.enqueue({ kind: 'raw', body: anthropicJson });
    const result = await generateText({
      model: anthropic('sonnet'),
      prompt: 'Hello',
      maxRetries: 0,
      maxOutputTokens: 2048,
      providerOptions: thinkingOptions,
    });
    expect(result.reasoningText).toBe('The user greets me; answer briefly.');
    expect(result.text).toBe('Hello there.');
    expect(signatureOf(result.reasoning[0])).toBe(signature);
    const sent = upstream.requests[0]!;
    expect(sent.path).toBe('/v1/messages');
    expect(sent.body).toMatchObject({
      model: 'claude-sonnet-4-5',
      thinking: { type: 'enabled', budget_tokens: 1024 },
    });
  });

  it('streamText, same-format passthrough: thinking deltas and the signature', async () => {
    upstream.enqueue({ kind: 'raw', frames: anthropicFrames });
    const result = streamText({
      model: anthropic('sonnet'),
      prompt: 'Hello',
      maxRetries: 0,
      maxOutputTokens: 2048,
      providerOptions: thinkingOptions,
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('Hi!');
    expect(await result.reasoningText).toBe('Streamed thought.');
    const reasoning = await result.reasoning;
    expect(signatureOf(reasoning[0])).toBe(signature);
    expect(upstream.requests[0]!.body).toMatchObject({ model: 'claude-sonnet-4-5', stream: true });
  });

  it("generateText, translated from an OpenAI target's reasoning_content", async () => {
    upstream.enqueue({
      kind: 'raw',
      body: JSON.stringify({
        id: 'chatcmpl-ai-sdk-1',
        object: 'chat.completion',
        created: 1,
        model: 'o4-mini',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: 'Paris.',
              refusal: null,
              reasoning_content: 'Capital of France.',
            },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
      }),
    });
    const result = await generateText({
      model: anthropic('reasoner'),
      prompt: 'Capital of France?',
      maxRetries: 0,
      maxOutputTokens: 2048,
      providerOptions: thinkingOptions,
    });
    expect(result.reasoningText).toBe('Capital of France.');
    expect(result.text).toBe('Paris.');
    const sent = upstream.requests[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.body).toMatchObject({ model: 'o4-mini' });
  });

  it("streamText, translated from an OpenAI target's streamed reasoning_content", async () => {
    upstream.enqueue({
      kind: 'raw',
      frames: [
        openAIChunk({ role: 'assistant', content: null, reasoning_content: 'Capital ' }),
        openAIChunk({ reasoning_content: 'of France.' }),
        openAIChunk({ content: 'Paris.' }),
        openAIChunk({}, { finish_reason: 'stop' }),
        usageChunk,
        'data: [DONE]\n\n',
      ],
    });
    const result = streamText({
      model: anthropic('reasoner'),
      prompt: 'Capital of France?',
      maxRetries: 0,
      maxOutputTokens: 2048,
      providerOptions: thinkingOptions,
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('Paris.');
    expect(await result.reasoningText).toBe('Capital of France.');
    expect(upstream.requests[0]!.path).toBe('/v1/chat/completions');
  });
});

const weather = tool({
  description: 'The weather in a city',
  inputSchema: jsonSchema<{ city: string; unit: 'c' | 'f' }>({
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
    required: ['city', 'unit'],
    additionalProperties: false,
  }),
});

describe('@ai-sdk/openai chat (openai.chat) through the gateway: tool calls with parsed arguments', () => {
  it('generateText, same-format passthrough', async () => {
    upstream.enqueue({
      kind: 'raw',
      body: JSON.stringify({
        id: 'chatcmpl-ai-sdk-tool',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o-2024-08-06',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: null,
              refusal: null,
              tool_calls: [
                {
                  id: 'call_paris',
                  type: 'function',
                  function: { name: 'weather', arguments: '{"city":"Paris","unit":"c"}' },
                },
              ],
            },
            logprobs: null,
            finish_reason: 'tool_calls',
          },
        ],
        usage: { prompt_tokens: 30, completion_tokens: 10, total_tokens: 40 },
      }),
    });
    const result = await generateText({
      model: openai.chat('gpt'),
      prompt: 'Weather in Paris?',
      tools: { weather },
      maxRetries: 0,
    });
    expect(result.finishReason).toBe('tool-calls');
    expect(result.toolCalls).toHaveLength(1);
    expect(result.toolCalls[0]).toMatchObject({
      toolCallId: 'call_paris',
      toolName: 'weather',
      input: { city: 'Paris', unit: 'c' },
    });
    const sent = upstream.requests[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.body).toMatchObject({
      model: 'gpt-4o',
      tools: [{ type: 'function', function: { name: 'weather' } }],
    });
  });

  it('streamText, same-format passthrough: the arguments arrive in pieces', async () => {
    upstream.enqueue({
      kind: 'raw',
      frames: [
        openAIChunk({ role: 'assistant', content: null }),
        openAIChunk({
          tool_calls: [
            { index: 0, id: 'call_rome', type: 'function', function: { name: 'weather', arguments: '' } },
          ],
        }),
        openAIChunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Ro' } }] }),
        openAIChunk({ tool_calls: [{ index: 0, function: { arguments: 'me","unit":"f"}' } }] }),
        openAIChunk({}, { finish_reason: 'tool_calls' }),
        usageChunk,
        'data: [DONE]\n\n',
      ],
    });
    const result = streamText({
      model: openai.chat('gpt'),
      prompt: 'Weather in Rome?',
      tools: { weather },
      maxRetries: 0,
    });
    const toolCalls = await result.toolCalls;
    expect(toolCalls).toHaveLength(1);
    expect(toolCalls[0]).toMatchObject({
      toolCallId: 'call_rome',
      toolName: 'weather',
      input: { city: 'Rome', unit: 'f' },
    });
    expect(await result.finishReason).toBe('tool-calls');
  });

  it('generateText, translated from an Anthropic target’s tool_use', async () => {
    upstream.enqueue({
      kind: 'raw',
      body: JSON.stringify({
        id: 'msg_ai_sdk_tool',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5',
        content: [
          { type: 'tool_use', id: 'toolu_oslo', name: 'weather', input: { city: 'Oslo', unit: 'c' } },
        ],
        stop_reason: 'tool_use',
        stop_sequence: null,
        usage: { input_tokens: 30, output_tokens: 10 },
      }),
    });
    const result = await generateText({
      model: openai.chat('claude-for-openai'),
      prompt: 'Weather in Oslo?',
      tools: { weather },
      maxRetries: 0,
    });
    expect(result.finishReason).toBe('tool-calls');
    expect(result.toolCalls[0]).toMatchObject({
      toolCallId: 'toolu_oslo',
      toolName: 'weather',
      input: { city: 'Oslo', unit: 'c' },
    });
    const sent = upstream.requests[0]!;
    expect(sent.path).toBe('/v1/messages');
    expect(sent.body).toMatchObject({ tools: [{ name: 'weather', input_schema: { type: 'object' } }] });
  });
});
