import Anthropic from '@anthropic-ai/sdk';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';
import { captureLogs } from './test-helpers/log-capture.js';

// The fidelity table of apps/gateway/README.md ("Translation"), row by row, for the two cross-format
// directions: what the upstream receives, what the client gets back, and what is named as dropped.

const key = 'sk-fidelity-upstream-0123456789';
let upstream: FakeUpstream;
let gateway: Gateway;
let strictGateway: Gateway;
let openai: OpenAI;
let anthropic: Anthropic;
const logs = captureLogs();

const providers = () => ({
  claude: { plugin: 'anthropic', baseURL: upstream.anthropicBaseURL, apiKey: key },
  oai: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: key },
});
const claude = [{ provider: 'claude', model: 'claude-sonnet-4-5' }];
const gpt = [{ provider: 'oai', model: 'o4-mini' }];

beforeAll(async () => {
  upstream = await createFakeUpstream({ apiKey: key });
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      providers: providers(),
      models: {
        'to-claude': claude,
        'to-openai': gpt,
        'strict-claude': { targets: claude, translation: 'strict' },
        'strict-openai': { targets: gpt, translation: 'strict' },
      },
      retry: false,
      breaker: false,
    },
    logger: logs.logger,
  });
  strictGateway = await createGateway({
    config: {
      server: { port: 0 },
      providers: providers(),
      translation: 'strict',
      models: { 'to-claude': claude, loose: { targets: claude, translation: 'lenient' } },
      retry: false,
      breaker: false,
    },
    logger: logs.logger,
  });
  const url = await gateway.listen();
  await strictGateway.listen();
  openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'client', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: url, apiKey: 'client', maxRetries: 0 });
});

afterEach(() => upstream.reset());

afterAll(async () => {
  await gateway.close({ drainTimeoutMs: 0 });
  await strictGateway.close({ drainTimeoutMs: 0 });
  await upstream.close();
});

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field against the table
type Answer = Record<string, any>;

async function post(
  route: 'openai' | 'anthropic',
  body: unknown,
  target: Gateway = gateway,
): Promise<{ status: number; headers: Headers; json: Answer; text: string }> {
  const response = await fetch(
    `${target.url}${route === 'openai' ? '/v1/chat/completions' : '/v1/messages'}`,
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(route === 'anthropic' ? { 'anthropic-version': '2023-06-01' } : {}),
      },
      body: JSON.stringify(body),
    },
  );
  const text = await response.text();
  let json: Answer = {};
  try {
    json = JSON.parse(text);
  } catch {
    // an SSE body
  }
  return { status: response.status, headers: response.headers, json, text };
}

const sse = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}): string =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-s',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'o4-mini',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: null, ...extra }],
  })}\n\n`;
const dropped = (headers: Headers): string[] => (headers.get('x-bulwark-dropped') ?? '').split(',').sort();
const lookupSchema = { type: 'object', properties: { q: { type: 'string' } } };

/** An OpenAI Chat Completions request with every row of the table that has an Anthropic mapping or none. */
const openAIRequest = {
  model: 'to-claude',
  messages: [
    {
      role: 'system',
      content: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
    },
    {
      role: 'user',
      name: 'ann',
      content: [
        { type: 'text', text: 'Summarize the file.', cache_control: { type: 'ephemeral', ttl: '1h' } },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' } },
        {
          type: 'file',
          file: { file_data: 'data:application/pdf;base64,JVBERi0xLjQ=', filename: 'report.pdf' },
        },
      ],
    },
  ],
  tools: [
    {
      type: 'function',
      function: { name: 'lookup', parameters: lookupSchema },
      cache_control: { type: 'ephemeral' },
    },
  ],
  tool_choice: { type: 'function', function: { name: 'lookup' } },
  max_completion_tokens: 20_000,
  reasoning_effort: 'high',
  user: 'user-42',
  stop: ['END'],
  temperature: 0.5,
  response_format: {
    type: 'json_schema',
    json_schema: { name: 'summary', schema: { type: 'object', properties: { s: { type: 'string' } } } },
  },
  seed: 7,
  frequency_penalty: 0.2,
  logprobs: true,
  metadata: { trace: 't-1' },
};

describe('OpenAI client → Anthropic provider', () => {
  it('sends every mappable field in its Anthropic form and names the rest in x-bulwark-dropped', async () => {
    upstream.enqueue({
      kind: 'raw',
      body: JSON.stringify({
        id: 'msg_01',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5',
        content: [
          { type: 'thinking', thinking: 'The user wants a summary.', signature: 'EqQBCkgIARABGAIiQL' },
          { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix' },
          {
            type: 'text',
            text: '{"s":"short"}',
            citations: [{ type: 'page_location', cited_text: 'x', document_index: 0, start_page_number: 1 }],
          },
        ],
        stop_reason: 'stop_sequence',
        stop_sequence: 'END',
        usage: {
          input_tokens: 20,
          cache_read_input_tokens: 100,
          cache_creation_input_tokens: 5,
          output_tokens: 50,
          output_tokens_details: { thinking_tokens: 30 },
        },
      }),
    });
    const { status, headers, json } = await post('openai', openAIRequest);
    expect(status).toBe(200);
    expect(upstream.requests[0]!.body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 20_000,
      system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Summarize the file.', cache_control: { type: 'ephemeral', ttl: '1h' } },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            {
              type: 'document',
              source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0xLjQ=' },
              title: 'report.pdf',
            },
          ],
        },
      ],
      tools: [{ name: 'lookup', input_schema: lookupSchema, cache_control: { type: 'ephemeral' } }],
      tool_choice: { type: 'tool', name: 'lookup' },
      temperature: 0.5,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-42' },
      output_config: {
        format: { type: 'json_schema', schema: { type: 'object', properties: { s: { type: 'string' } } } },
      },
      thinking: { type: 'enabled', budget_tokens: 16_384 },
    });
    expect(dropped(headers)).toEqual(
      [
        'messages[1].content[1].image_url.detail',
        'messages[1].name',
        'seed',
        'logprobs',
        'metadata.trace',
        'frequency_penalty',
      ].sort(),
    );
    const choice = json.choices[0];
    expect(choice.finish_reason).toBe('stop');
    expect(choice.message).toEqual({
      role: 'assistant',
      content: '{"s":"short"}',
      refusal: null,
      reasoning_content: 'The user wants a summary.',
      thinking_blocks: [
        { type: 'thinking', thinking: 'The user wants a summary.', signature: 'EqQBCkgIARABGAIiQL' },
        { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix' },
      ],
    });
    expect(json.usage).toEqual({
      prompt_tokens: 125,
      completion_tokens: 50,
      total_tokens: 175,
      prompt_tokens_details: { cached_tokens: 100 },
      completion_tokens_details: { reasoning_tokens: 30 },
    });
  });

  it('replays thinking_blocks with their signatures verbatim to Anthropic on the next turn', async () => {
    await post('openai', {
      model: 'to-claude',
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          reasoning_content: 'Use the tool.',
          thinking_blocks: [{ type: 'thinking', thinking: 'Use the tool.', signature: 'sig-verbatim==' }],
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
      ],
      tools: [
        { type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: {} } } },
      ],
      reasoning_effort: 'low',
    });
    const body = upstream.requests[0]!.body as { messages: Array<{ content: unknown }>; thinking: unknown };
    expect(body.messages[1]!.content).toEqual([
      { type: 'thinking', thinking: 'Use the tool.', signature: 'sig-verbatim==' },
      { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
    ]);
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
  });

  it('streams thinking as reasoning_content and parallel tool calls, skipping events it does not know', async () => {
    upstream.enqueue({
      kind: 'raw',
      frames: [
        sse('message_start', {
          type: 'message_start',
          message: {
            id: 'msg_02',
            type: 'message',
            role: 'assistant',
            model: 'claude-sonnet-4-5',
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 12, cache_read_input_tokens: 8, output_tokens: 1 },
          },
        }),
        sse('content_block_start', {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'thinking', thinking: '', signature: '' },
        }),
        sse('ping', { type: 'ping' }),
        sse('content_block_delta', {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'thinking_delta', thinking: 'Two lookups.' },
        }),
        sse('content_block_delta', {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'signature_delta', signature: 'sig-A' },
        }),
        sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
        sse('content_block_start', {
          type: 'content_block_start',
          index: 1,
          content_block: { type: 'tool_use', id: 'toolu_a', name: 'lookup', input: {} },
        }),
        sse('content_block_delta', {
          type: 'content_block_delta',
          index: 1,
          delta: { type: 'input_json_delta', partial_json: '{"q":"a"}' },
        }),
        sse('content_block_stop', { type: 'content_block_stop', index: 1 }),
        sse('content_block_start', {
          type: 'content_block_start',
          index: 2,
          content_block: { type: 'tool_use', id: 'toolu_b', name: 'lookup', input: {} },
        }),
        sse('content_block_delta', {
          type: 'content_block_delta',
          index: 2,
          delta: { type: 'input_json_delta', partial_json: '{"q":"b"}' },
        }),
        sse('content_block_stop', { type: 'content_block_stop', index: 2 }),
        sse('future_event_type', { type: 'future_event_type', detail: 1 }),
        sse('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: 'tool_use', stop_sequence: null },
          usage: { output_tokens: 40 },
        }),
        sse('message_stop', { type: 'message_stop' }),
      ],
    });
    const stream = await openai.chat.completions.create({
      model: 'to-claude',
      messages: [{ role: 'user', content: 'look up a and b' }],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: lookupSchema } }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let reasoning = '';
    const calls: Array<{ id?: string; name?: string; arguments: string }> = [];
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const part of stream) {
      const choice = part.choices[0];
      if (part.usage) usage = part.usage;
      if (!choice) continue;
      reasoning += (choice.delta as { reasoning_content?: string }).reasoning_content ?? '';
      for (const call of choice.delta.tool_calls ?? []) {
        calls[call.index] ??= { arguments: '' };
        const entry = calls[call.index]!;
        if (call.id) entry.id = call.id;
        if (call.function?.name) entry.name = call.function.name;
        entry.arguments += call.function?.arguments ?? '';
      }
      finish = choice.finish_reason ?? finish;
    }
    expect(reasoning).toBe('Two lookups.');
    expect(calls).toEqual([
      { id: 'toolu_a', name: 'lookup', arguments: '{"q":"a"}' },
      { id: 'toolu_b', name: 'lookup', arguments: '{"q":"b"}' },
    ]);
    expect(finish).toBe('tool_calls');
    expect(usage).toMatchObject({
      prompt_tokens: 20,
      completion_tokens: 40,
      prompt_tokens_details: { cached_tokens: 8 },
    });
  });

  it('gives chat.completions.parse() the refusal of an Anthropic target as a refusal, not as JSON', async () => {
    upstream.enqueue({
      kind: 'raw',
      body: JSON.stringify({
        id: 'msg_03',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5',
        content: [{ type: 'text', text: "I can't help with that." }],
        stop_reason: 'refusal',
        stop_sequence: null,
        usage: { input_tokens: 5, output_tokens: 6 },
      }),
    });
    const completion = await openai.chat.completions.parse({
      model: 'to-claude',
      messages: [{ role: 'user', content: 'something harmful' }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', schema: { type: 'object', properties: { a: { type: 'string' } } } },
      },
    });
    const message = completion.choices[0]!.message;
    expect(message.refusal).toBe("I can't help with that.");
    expect(message.content).toBeNull();
    expect(message.parsed).toBeNull();
    expect(completion.choices[0]!.finish_reason).toBe('stop');
  });

  it('names a file part the target refuses by its wire path', async () => {
    const { status, json } = await post('openai', {
      model: 'to-claude',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'x' },
            { type: 'file', file: { file_data: 'data:image/png;base64,iVBORw0KGgo=', filename: 'a.png' } },
          ],
        },
      ],
    });
    expect(status).toBe(400);
    expect(json.error.param).toBe('messages[0].content[1].file.file_data');
    expect(upstream.requests).toHaveLength(0);
  });

  it('sends no x-bulwark-dropped header when everything was carried', async () => {
    const { headers } = await post('openai', {
      model: 'to-claude',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 30,
      temperature: 0.3,
    });
    expect(headers.get('x-bulwark-dropped')).toBeNull();
    expect(upstream.requests[0]!.body).toMatchObject({ max_tokens: 30, temperature: 0.3 });
  });

  it('rejects with a 400 naming the field when the alias is strict, before any upstream call', async () => {
    const { status, json } = await post('openai', {
      model: 'strict-claude',
      messages: [{ role: 'user', content: 'hi' }],
      seed: 3,
    });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ type: 'invalid_request_error', param: 'seed' });
    expect(json.error.message).toContain('claude/claude-sonnet-4-5');
    expect(upstream.requests).toHaveLength(0);
  });

  it('applies a top-level strict translation to every alias unless the alias says lenient', async () => {
    const request = { messages: [{ role: 'user', content: 'hi' }], presence_penalty: 0.1 };
    const refused = await post('openai', { ...request, model: 'to-claude' }, strictGateway);
    expect(refused.status).toBe(400);
    expect(refused.json.error.param).toBe('presence_penalty');
    const served = await post('openai', { ...request, model: 'loose' }, strictGateway);
    expect(served.status).toBe(200);
    expect(served.headers.get('x-bulwark-dropped')).toBe('presence_penalty');
  });
});

/** An Anthropic Messages request with every row of the table that has an OpenAI mapping or none. */
const anthropicRequest = {
  model: 'to-openai',
  max_tokens: 8000,
  system: [{ type: 'text', text: 'Be exact.', cache_control: { type: 'ephemeral' } }],
  thinking: { type: 'enabled', budget_tokens: 5000 },
  metadata: { user_id: 'u-9' },
  top_k: 5,
  output_config: {
    format: { type: 'json_schema', schema: { type: 'object', properties: { a: { type: 'string' } } } },
  },
  tools: [
    { name: 'lookup', input_schema: lookupSchema, cache_control: { type: 'ephemeral' } },
    { type: 'web_search_20250305', name: 'web_search', max_uses: 2 },
  ],
  tool_choice: { type: 'tool', name: 'lookup' },
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Read this.' },
        {
          type: 'document',
          source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0xLjQ=' },
          title: 'r.pdf',
          citations: { enabled: true },
        },
      ],
    },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'I should look it up.', signature: 'sig-1' },
        { type: 'tool_use', id: 'call_1', name: 'lookup', input: { q: 'x' } },
      ],
    },
    {
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'call_1', content: 'found', is_error: true }],
    },
  ],
};

describe('Anthropic client → OpenAI provider', () => {
  it('sends every mappable field in its Chat Completions form and names the rest in x-bulwark-dropped', async () => {
    upstream.enqueue({
      kind: 'raw',
      body: JSON.stringify({
        id: 'chatcmpl-9',
        object: 'chat.completion',
        created: 1,
        model: 'o4-mini',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: null,
              refusal: null,
              reasoning_content: 'Need both.',
              tool_calls: [
                { id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '{"q":"a"}' } },
                { id: 'call_b', type: 'function', function: { name: 'lookup', arguments: '{"q":"b"}' } },
              ],
            },
            logprobs: null,
            // A forced named tool: OpenAI says "stop", an Anthropic agent loop waits for "tool_use".
            finish_reason: 'stop',
          },
        ],
        usage: {
          prompt_tokens: 50,
          completion_tokens: 30,
          total_tokens: 80,
          prompt_tokens_details: { cached_tokens: 10 },
          completion_tokens_details: { reasoning_tokens: 20 },
        },
      }),
    });
    const { status, headers, json } = await post('anthropic', anthropicRequest);
    expect(status).toBe(200);
    expect(upstream.requests[0]!.body).toEqual({
      model: 'o4-mini',
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Be exact.' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Read this.' },
            {
              type: 'file',
              file: { file_data: 'data:application/pdf;base64,JVBERi0xLjQ=', filename: 'r.pdf' },
            },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'found' },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: lookupSchema } }],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
      max_completion_tokens: 8000,
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'response', schema: { type: 'object', properties: { a: { type: 'string' } } } },
      },
      reasoning_effort: 'medium',
      user: 'u-9',
    });
    expect(dropped(headers)).toEqual(
      [
        'system[0].cache_control',
        'tools[0].cache_control',
        'tools[1]',
        'messages[0].content[1].citations',
        'messages[1].content[0]',
        'messages[2].content[0].is_error',
        'top_k',
      ].sort(),
    );
    expect(json).toMatchObject({
      type: 'message',
      role: 'assistant',
      stop_reason: 'tool_use',
      stop_sequence: null,
      content: [
        { type: 'thinking', thinking: 'Need both.', signature: '' },
        { type: 'tool_use', id: 'call_a', name: 'lookup', input: { q: 'a' } },
        { type: 'tool_use', id: 'call_b', name: 'lookup', input: { q: 'b' } },
      ],
      usage: {
        input_tokens: 40,
        output_tokens: 30,
        cache_read_input_tokens: 10,
        cache_creation_input_tokens: 0,
        output_tokens_details: { thinking_tokens: 20 },
      },
    });
  });

  it('runs messages.stream() with thinking and tools over two turns against a target that sends reasoning_content', async () => {
    upstream.enqueue({
      kind: 'raw',
      frames: [
        chunk({ role: 'assistant', content: null, reasoning_content: 'Let me ' }),
        chunk({ reasoning_content: 'check.' }),
        chunk({
          tool_calls: [
            { index: 0, id: 'call_w', type: 'function', function: { name: 'weather', arguments: '' } },
          ],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] }),
        chunk({}, { finish_reason: 'tool_calls' }),
        `data: ${JSON.stringify({
          id: 'chatcmpl-s',
          object: 'chat.completion.chunk',
          created: 1,
          model: 'o4-mini',
          choices: [],
          usage: {
            prompt_tokens: 9,
            completion_tokens: 12,
            total_tokens: 21,
            completion_tokens_details: { reasoning_tokens: 5 },
          },
        })}\n\n`,
        'data: [DONE]\n\n',
      ],
    });
    const tools: Anthropic.Tool[] = [
      { name: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
    ];
    const question: Anthropic.MessageParam = { role: 'user', content: 'Weather in Paris?' };
    const first = await anthropic.messages
      .stream({
        model: 'to-openai',
        max_tokens: 4000,
        thinking: { type: 'enabled', budget_tokens: 2048 },
        tools,
        messages: [question],
      })
      .finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content[0]).toMatchObject({ type: 'thinking', thinking: 'Let me check.' });
    expect(first.content[1]).toMatchObject({
      type: 'tool_use',
      id: 'call_w',
      name: 'weather',
      input: { city: 'Paris' },
    });
    expect(first.usage.output_tokens).toBe(12);

    upstream.enqueue({ kind: 'reply', text: 'Sunny in Paris.' });
    const second = await anthropic.messages
      .stream({
        model: 'to-openai',
        max_tokens: 4000,
        thinking: { type: 'enabled', budget_tokens: 2048 },
        tools,
        messages: [
          question,
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_w', content: 'sunny' }] },
        ],
      })
      .finalMessage();
    expect(second.content).toEqual([{ type: 'text', text: 'Sunny in Paris.' }]);
    expect(second.stop_reason).toBe('end_turn');
    const sent = upstream.requests[1]!.body as { messages: unknown[]; reasoning_effort: string };
    expect(sent.reasoning_effort).toBe('low');
    expect(sent.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_w', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_w', content: 'sunny' },
    ]);
  });

  it('rejects with a 400 in Anthropic form naming the field when the alias is strict', async () => {
    const { status, json } = await post('anthropic', {
      model: 'strict-openai',
      max_tokens: 100,
      top_k: 3,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(status).toBe(400);
    expect(json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(json.error.message).toContain('top_k');
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('same-format targets', () => {
  it('drop nothing and refuse nothing under strict: the body goes upstream as sent', async () => {
    const body = {
      model: 'strict-claude',
      max_tokens: 100,
      top_k: 3,
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }],
      messages: [{ role: 'user', content: 'hi' }],
    };
    const { status, headers } = await post('anthropic', body);
    expect(status).toBe(200);
    expect(headers.get('x-bulwark-dropped')).toBeNull();
    expect(upstream.requests[0]!.body).toEqual({ ...body, model: 'claude-sonnet-4-5' });
  });
});

describe('OpenAI client → OpenAI provider: logprobs', () => {
  const logprob = (token: string, value: number) => ({
    token,
    logprob: value,
    bytes: [...Buffer.from(token)],
    top_logprobs: [{ token, logprob: value, bytes: [...Buffer.from(token)] }],
  });

  it('asks for logprobs and returns them, plain and streamed', async () => {
    upstream.enqueue({
      kind: 'raw',
      body: JSON.stringify({
        id: 'chatcmpl-l',
        object: 'chat.completion',
        created: 1,
        model: 'o4-mini',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: 'Hi there', refusal: null },
            logprobs: { content: [logprob('Hi', -0.1), logprob(' there', -0.4)], refusal: null },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      }),
    });
    const plain = await openai.chat.completions.create({
      model: 'to-openai',
      messages: [{ role: 'user', content: 'hi' }],
      logprobs: true,
      top_logprobs: 1,
    });
    expect(upstream.requests[0]!.body).toMatchObject({ logprobs: true, top_logprobs: 1 });
    expect(plain.choices[0]!.logprobs?.content).toEqual([logprob('Hi', -0.1), logprob(' there', -0.4)]);

    upstream.enqueue({
      kind: 'raw',
      frames: [
        chunk({ role: 'assistant', content: '' }),
        chunk({ content: 'Hi' }, { logprobs: { content: [logprob('Hi', -0.1)], refusal: null } }),
        chunk({ content: ' there' }, { logprobs: { content: [logprob(' there', -0.4)], refusal: null } }),
        chunk({}, { finish_reason: 'stop' }),
        'data: [DONE]\n\n',
      ],
    });
    const stream = await openai.chat.completions.create({
      model: 'to-openai',
      messages: [{ role: 'user', content: 'hi' }],
      logprobs: true,
      top_logprobs: 1,
      stream: true,
    });
    const streamed: unknown[] = [];
    for await (const part of stream) streamed.push(...(part.choices[0]?.logprobs?.content ?? []));
    expect(streamed).toEqual([logprob('Hi', -0.1), logprob(' there', -0.4)]);
  });
});
