import { request as httpRequest } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';

const upstreamKey = 'sk-test-passthrough-upstream-0123';
const clientKey = 'bulwark-passthrough-client-key';

let primary: FakeUpstream;
let backup: FakeUpstream;
let gateway: Gateway;
let url: string;

beforeAll(async () => {
  primary = await createFakeUpstream({ apiKey: upstreamKey });
  backup = await createFakeUpstream({ apiKey: upstreamKey });
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      auth: { keys: [{ key: clientKey, name: 'team-a', roles: ['api', 'metrics'] }] },
      providers: {
        oa: { plugin: 'openai', baseURL: primary.openaiBaseURL, apiKey: upstreamKey },
        claude: { plugin: 'anthropic', baseURL: primary.anthropicBaseURL, apiKey: upstreamKey },
        spare: { plugin: 'anthropic', baseURL: backup.anthropicBaseURL, apiKey: upstreamKey },
      },
      models: {
        gpt: [{ provider: 'oa', model: 'gpt-4o' }],
        sonnet: [{ provider: 'claude', model: 'claude-sonnet-4-5' }],
        mixed: [
          { provider: 'oa', model: 'gpt-4o' },
          { provider: 'spare', model: 'claude-sonnet-4-5' },
        ],
      },
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
      timeout: { firstTokenMs: 3000 },
      breaker: false,
      cache: { plugin: 'memory', ttlSeconds: 60 },
      log: { level: 'error' },
    },
  });
  url = await gateway.listen();
});

afterEach(() => {
  primary.reset();
  backup.reset();
});

afterAll(async () => {
  await gateway.close({ drainTimeoutMs: 0 });
  await primary.close();
  await backup.close();
});

let counter = 0;
/** A body no other test sends (the cache is on). */
const unique = () => `question ${++counter} ${Date.now()}`;

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${clientKey}`, ...headers },
    body: JSON.stringify(body),
  });
}

/** A POST through node:http, which sends any header (fetch refuses hop-by-hop ones). */
function postNode(path: string, body: unknown, headers: Record<string, string>) {
  return new Promise<{ status: number; text: string; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      const outgoing = httpRequest(
        `${url}${path}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${clientKey}`, ...headers },
        },
        (incoming) => {
          let text = '';
          incoming.setEncoding('utf8');
          incoming.on('data', (part: string) => {
            text += part;
          });
          incoming.on('end', () =>
            resolve({ status: incoming.statusCode ?? 0, text, headers: incoming.headers }),
          );
        },
      );
      outgoing.on('error', reject);
      outgoing.end(JSON.stringify(body));
    },
  );
}

const openAIBody = (extra: Record<string, unknown> = {}) => ({
  model: 'gpt',
  messages: [{ role: 'user', content: unique() }],
  max_completion_tokens: 50,
  logprobs: true,
  invented_request_field: { deep: [1, { two: 'three' }] },
  ...extra,
});
const anthropicBody = (extra: Record<string, unknown> = {}) => ({
  model: 'sonnet',
  max_tokens: 2048,
  system: [{ type: 'text', text: 'Be brief', cache_control: { type: 'ephemeral' } }],
  thinking: { type: 'enabled', budget_tokens: 1024 },
  messages: [
    { role: 'user', content: [{ type: 'text', text: unique(), cache_control: { type: 'ephemeral' } }] },
  ],
  invented_request_field: 42,
  ...extra,
});

const openAIJson = JSON.stringify({
  id: 'chatcmpl-raw1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-2024-08-06',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Raw hello', refusal: null, reasoning_content: 'hmm' },
      logprobs: { content: [{ token: 'Raw', logprob: -0.1, bytes: [82], top_logprobs: [] }] },
      finish_reason: 'stop',
    },
  ],
  usage: {
    prompt_tokens: 1000,
    completion_tokens: 2000,
    total_tokens: 3000,
    completion_tokens_details: { reasoning_tokens: 5 },
  },
  invented_answer_field: ['kept'],
});
const chunk = (fields: Record<string, unknown>) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-s1', object: 'chat.completion.chunk', model: 'gpt-4o', ...fields })}\n\n`;
const openAIFrames = (withUsageNulls: boolean) => {
  const usage = withUsageNulls ? { usage: null } : {};
  return [
    chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }], ...usage }),
    chunk({
      choices: [
        { index: 0, delta: { content: 'Hel' }, logprobs: { content: [{ token: 'Hel', logprob: -1 }] } },
      ],
      ...usage,
    }),
    chunk({ choices: [{ index: 0, delta: { content: 'lo' } }], ...usage }),
    chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], ...usage }),
    chunk({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } }),
    'data: [DONE]\n\n',
  ];
};

const event = (type: string, data: Record<string, unknown>) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const anthropicJson = JSON.stringify({
  id: 'msg_raw1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    {
      type: 'thinking',
      thinking: 'Let me think',
      signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds',
    },
    { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4a' },
    { type: 'text', text: 'Raw hi', citations: null },
  ],
  stop_reason: 'stop_sequence',
  stop_sequence: 'END',
  usage: { input_tokens: 1000, cache_read_input_tokens: 0, output_tokens: 1000 },
  invented_answer_field: { kept: true },
});
const anthropicFrames = [
  event('message_start', {
    message: {
      id: 'msg_s1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [],
      stop_reason: null,
      usage: { input_tokens: 20, output_tokens: 1 },
    },
  }),
  event('ping', {}),
  event('content_block_start', {
    index: 0,
    content_block: { type: 'thinking', thinking: '', signature: '' },
  }),
  event('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'Let me think' } }),
  event('content_block_delta', {
    index: 0,
    delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIMsig==' },
  }),
  event('content_block_stop', { index: 0 }),
  event('content_block_start', { index: 1, content_block: { type: 'text', text: '' } }),
  event('content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'Hello' } }),
  event('content_block_stop', { index: 1 }),
  event('brand_new_event_type', { payload: [1, 2, 3] }),
  event('message_delta', {
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: 9 },
  }),
  event('message_stop', {}),
];

const withoutModel = (body: unknown) => {
  const { model: _model, ...rest } = body as Record<string, unknown>;
  return rest;
};

async function costOf(provider: string): Promise<number> {
  const text = await (
    await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${clientKey}` } })
  ).text();
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('bulwark_cost_usd_total{') && line.includes(`provider="${provider}"`))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

describe('same-format passthrough: OpenAI client → OpenAI provider', () => {
  it('forwards the body with only model replaced and answers the upstream JSON as sent', async () => {
    primary.enqueue({ kind: 'raw', body: openAIJson, headers: { 'x-request-id': 'req_openai_1' } });
    const body = openAIBody();
    const response = await postNode('/v1/chat/completions', body, {
      'openai-beta': 'assistants=v2',
      'x-bulwark-cache': 'no-store',
      connection: 'keep-alive, x-hop',
      'x-hop': 'gone',
      'keep-alive': 'timeout=5',
      te: 'trailers',
    });
    expect(response.status).toBe(200);
    expect(response.text).toBe(openAIJson);
    expect(response.headers['x-request-id']).toBe('req_openai_1');
    expect(response.headers['x-bulwark-target']).toBe('oa/gpt-4o-2024-08-06');
    const received = primary.requests[0]!;
    expect(received.body).toEqual({ ...body, model: 'gpt-4o' });
    expect(withoutModel(received.body)).toEqual(withoutModel(body));
    expect(received.headers.authorization).toBe(`Bearer ${upstreamKey}`);
    expect(received.headers['openai-beta']).toBe('assistants=v2');
    expect(received.headers['x-bulwark-cache']).toBeUndefined();
    expect(received.headers['x-hop']).toBeUndefined();
    expect(received.headers['keep-alive']).toBeUndefined();
    expect(received.headers.te).toBeUndefined();
    expect(JSON.stringify(received.headers)).not.toContain(clientKey);
  });

  it('streams every frame as sent when the caller asked for usage itself', async () => {
    const frames = openAIFrames(true);
    primary.enqueue({ kind: 'raw', frames, headers: { 'x-request-id': 'req_openai_2' } });
    const body = openAIBody({ stream: true, stream_options: { include_usage: true } });
    const response = await post('/v1/chat/completions', body);
    expect(await response.text()).toBe(frames.join(''));
    expect(response.headers.get('x-request-id')).toBe('req_openai_2');
    expect(primary.requests[0]!.body).toEqual({ ...body, model: 'gpt-4o' });
  });

  it('asks for usage when the caller did not, and hides it: the caller sees the stream it asked for', async () => {
    primary.enqueue({ kind: 'raw', frames: openAIFrames(true) });
    const body = openAIBody({ stream: true });
    const response = await post('/v1/chat/completions', body);
    const expected = openAIFrames(false);
    expected.splice(4, 1);
    expect(await response.text()).toBe(expected.join(''));
    expect(primary.requests[0]!.body).toEqual({
      ...body,
      model: 'gpt-4o',
      stream_options: { include_usage: true },
    });
  });
});

describe('same-format passthrough: Anthropic client → Anthropic provider', () => {
  it('forwards body and beta/version headers, replaces the key, and answers the upstream JSON as sent', async () => {
    primary.enqueue({ kind: 'raw', body: anthropicJson, headers: { 'request-id': 'req_ant_1' } });
    const body = anthropicBody();
    const response = await post('/v1/messages', body, {
      'x-api-key': clientKey,
      authorization: '',
      'anthropic-version': '2023-06-01',
      'anthropic-beta': 'interleaved-thinking-2025-05-14,prompt-caching-2024-07-31',
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(anthropicJson);
    expect(response.headers.get('request-id')).toBe('req_ant_1');
    const received = primary.requests[0]!;
    expect(received.body).toEqual({ ...body, model: 'claude-sonnet-4-5' });
    expect(received.headers['x-api-key']).toBe(upstreamKey);
    expect(received.headers['anthropic-beta']).toBe(
      'interleaved-thinking-2025-05-14,prompt-caching-2024-07-31',
    );
    expect(received.headers['anthropic-version']).toBe('2023-06-01');
  });

  it('streams thinking with its signature, ping and an unknown event type byte for byte', async () => {
    primary.enqueue({ kind: 'raw', frames: anthropicFrames, headers: { 'request-id': 'req_ant_2' } });
    const response = await post('/v1/messages', anthropicBody({ stream: true }), {
      'anthropic-version': '2023-06-01',
    });
    expect(await response.text()).toBe(anthropicFrames.join(''));
    expect(response.headers.get('request-id')).toBe('req_ant_2');
  });
});

describe('policies on the passthrough path', () => {
  it('retries a 503 before output invisibly, plain and streamed, both formats', async () => {
    primary.enqueue({ kind: 'status', status: 503 }, { kind: 'raw', body: openAIJson });
    let response = await post('/v1/chat/completions', openAIBody());
    expect(await response.text()).toBe(openAIJson);
    expect(response.headers.get('x-bulwark-attempts')).toBe('2');

    primary.enqueue({ kind: 'status', status: 503 }, { kind: 'raw', frames: anthropicFrames });
    response = await post('/v1/messages', anthropicBody({ stream: true }));
    expect(await response.text()).toBe(anthropicFrames.join(''));
    expect(response.headers.get('x-bulwark-attempts')).toBe('2');
    expect(primary.requests).toHaveLength(4);
  });

  it('retries an in-stream overloaded error that came before any output', async () => {
    primary.enqueue(
      {
        kind: 'raw',
        frames: [
          anthropicFrames[0]!,
          anthropicFrames[1]!,
          event('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }),
        ],
      },
      { kind: 'raw', frames: anthropicFrames },
    );
    const response = await post('/v1/messages', anthropicBody({ stream: true }));
    expect(await response.text()).toBe(anthropicFrames.join(''));
  });

  it('retries a passthrough stream whose first byte is later than the first-token timeout', async () => {
    primary.enqueue(
      // biome-ignore lint/suspicious/noThenProperty: the fake upstream's delay behaviour names what follows `then`
      { kind: 'delay', ms: 10_000, then: { kind: 'raw', frames: anthropicFrames } },
      { kind: 'raw', frames: anthropicFrames },
    );
    const started = Date.now();
    const response = await post('/v1/messages', anthropicBody({ stream: true }));
    expect(await response.text()).toBe(anthropicFrames.join(''));
    expect(response.headers.get('x-bulwark-attempts')).toBe('2');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
  });

  it('ends a stream cut after output with an error event and no clean end, both formats', async () => {
    primary.enqueue({ kind: 'raw', frames: openAIFrames(false), cutAfterFrames: 3 });
    let text = await (await post('/v1/chat/completions', openAIBody({ stream: true }))).text();
    expect(text.startsWith(openAIFrames(false).slice(0, 3).join(''))).toBe(true);
    expect(text).toContain('"error"');
    expect(text).not.toContain('[DONE]');

    primary.enqueue({ kind: 'raw', frames: anthropicFrames, cutAfterFrames: 8 });
    text = await (await post('/v1/messages', anthropicBody({ stream: true }))).text();
    expect(text.startsWith(anthropicFrames.slice(0, 8).join(''))).toBe(true);
    expect(text).toContain('event: error');
    expect(text).not.toContain('message_stop');
  });

  it('replays a cache hit as the same bytes, plain and streamed, both formats', async () => {
    for (const [path, body, reply] of [
      ['/v1/chat/completions', openAIBody(), { kind: 'raw', body: openAIJson }],
      ['/v1/chat/completions', openAIBody({ stream: true }), { kind: 'raw', frames: openAIFrames(true) }],
      ['/v1/messages', anthropicBody(), { kind: 'raw', body: anthropicJson }],
      ['/v1/messages', anthropicBody({ stream: true }), { kind: 'raw', frames: anthropicFrames }],
    ] as const) {
      primary.enqueue(reply);
      const first = await post(path, body);
      const firstText = await first.text();
      const second = await post(path, body);
      expect(second.headers.get('x-bulwark-cache')).toBe('hit');
      expect(await second.text()).toBe(firstText);
      const invented = await post(path, { ...body, another_invented_field: 1 });
      expect(invented.headers.get('x-bulwark-cache')).toBe('miss');
      await invented.text();
    }
  });

  it('prices each call exactly from the upstream usage, both formats', async () => {
    const openAIBefore = await costOf('oa');
    primary.enqueue({ kind: 'raw', body: openAIJson });
    await (await post('/v1/chat/completions', openAIBody())).text();
    // gpt-4o: 1,000 in at $2.50/M + 2,000 out at $10/M.
    expect((await costOf('oa')) - openAIBefore).toBeCloseTo(0.0025 + 0.02, 9);

    const anthropicBefore = await costOf('claude');
    primary.enqueue({ kind: 'raw', body: anthropicJson });
    await (await post('/v1/messages', anthropicBody())).text();
    // claude-sonnet-4-5: 1,000 in at $3/M + 1,000 out at $15/M.
    expect((await costOf('claude')) - anthropicBefore).toBeCloseTo(0.003 + 0.015, 9);
  });

  it('falls back to a target of the other format through translation', async () => {
    primary.enqueue({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });
    const content = unique();
    const response = await post('/v1/chat/completions', {
      model: 'mixed',
      messages: [{ role: 'user', content }],
    });
    expect(response.headers.get('x-bulwark-target')).toMatch(/^spare\//);
    const answer = (await response.json()) as {
      object: string;
      choices: Array<{ message: { content: string } }>;
    };
    expect(answer.object).toBe('chat.completion');
    expect(answer.choices[0]!.message.content).toBe(`echo: ${content}`);
    expect(backup.requests[0]!.path).toBe('/v1/messages');
  });
});

describe('the official SDKs through the passthrough', () => {
  it('openai chat.completions, plain and streamed', async () => {
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: clientKey, maxRetries: 0 });
    primary.enqueue({ kind: 'raw', body: openAIJson });
    const completion = await openai.chat.completions.create({
      model: 'gpt',
      messages: [{ role: 'user', content: unique() }],
    });
    expect(completion.choices[0]!.message.content).toBe('Raw hello');
    expect((completion as unknown as { invented_answer_field: string[] }).invented_answer_field).toEqual([
      'kept',
    ]);

    primary.enqueue({ kind: 'raw', frames: openAIFrames(true) });
    const stream = await openai.chat.completions.create({
      model: 'gpt',
      messages: [{ role: 'user', content: unique() }],
      stream: true,
    });
    let text = '';
    for await (const part of stream) text += part.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello');
  });

  it('@anthropic-ai/sdk messages.stream keeps the thinking block and its signature', async () => {
    const anthropic = new Anthropic({ baseURL: url, apiKey: clientKey, maxRetries: 0 });
    primary.enqueue({ kind: 'raw', frames: anthropicFrames });
    const stream = anthropic.messages.stream({
      model: 'sonnet',
      max_tokens: 2048,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: unique() }],
    });
    const message = await stream.finalMessage();
    expect(message.content[0]).toEqual({
      type: 'thinking',
      thinking: 'Let me think',
      signature: 'EqQBCgIYAhIMsig==',
    });
    expect(message.content[1]).toMatchObject({ type: 'text', text: 'Hello' });
    expect(message.usage.output_tokens).toBe(9);
  });
});
