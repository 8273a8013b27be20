import Anthropic from '@anthropic-ai/sdk';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';

let openaiUpstream: FakeUpstream;
let anthropicUpstream: FakeUpstream;
let gateway: Gateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  openaiUpstream = await createFakeUpstream();
  anthropicUpstream = await createFakeUpstream();
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      providers: {
        gpt: { plugin: 'openai', baseURL: openaiUpstream.openaiBaseURL, apiKey: 'sk-test-openai-000000' },
        claude: {
          plugin: 'anthropic',
          baseURL: anthropicUpstream.anthropicBaseURL,
          apiKey: 'sk-ant-test-000000',
        },
        tight: {
          plugin: 'openai',
          baseURL: openaiUpstream.openaiBaseURL,
          apiKey: 'sk-test-openai-000000',
          limits: { rpm: 1 },
        },
      },
      models: {
        gpt: [{ provider: 'gpt', model: 'gpt-4o' }],
        claude: [{ provider: 'claude', model: 'claude-sonnet-4-20250514' }],
        tight: [{ provider: 'tight', model: 'gpt-4o' }],
      },
      retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 50, retryAfterCapMs: 5000 },
      breaker: false,
      limiter: { maxWaitMs: 0 },
      log: { level: 'error' },
    },
  });
  const url = await gateway.listen();
  openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: url, apiKey: 'none', maxRetries: 0 });
});

afterEach(() => {
  openaiUpstream.reset();
  anthropicUpstream.reset();
});

afterAll(async () => {
  await gateway.close({ drainTimeoutMs: 0 });
  await openaiUpstream.close();
  await anthropicUpstream.close();
});

describe('retry', () => {
  it('honours retry-after from a 429 before retrying', async () => {
    openaiUpstream.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    const { data, response } = await openai.chat.completions
      .create({ model: 'gpt', messages: [{ role: 'user', content: 'patience' }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: patience');
    expect(response.headers.get('x-bulwark-attempts')).toBe('2');
    const [first, second] = openaiUpstream.requests;
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(950);
  });
});

describe('limiter', () => {
  it('answers 429 with retry-after when the gateway limit is spent', async () => {
    await openai.chat.completions.create({ model: 'tight', messages: [{ role: 'user', content: 'one' }] });
    const error = await openai.chat.completions
      .create({ model: 'tight', messages: [{ role: 'user', content: 'two' }] })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const retryAfter = Number(
      (error as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after'),
    );
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(openaiUpstream.requests).toHaveLength(1);
  });
});

describe('the Anthropic provider', () => {
  it('serves Anthropic clients, plain and streamed', async () => {
    const message = await anthropic.messages.create({
      model: 'claude',
      max_tokens: 50,
      system: 'be brief',
      messages: [{ role: 'user', content: 'native' }],
    });
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'echo: native' });
    const sent = anthropicUpstream.requests[0]!.body as { system: unknown; max_tokens: number };
    expect(sent.max_tokens).toBe(50);
    const final = await anthropic.messages
      .stream({ model: 'claude', max_tokens: 50, messages: [{ role: 'user', content: 'native stream' }] })
      .finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'echo: native stream' });
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });

  it('serves OpenAI clients, plain and streamed with usage', async () => {
    const answer = await openai.chat.completions.create({
      model: 'claude',
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'cross' },
      ],
    });
    expect(answer.choices[0]!.message.content).toBe('echo: cross');
    expect(anthropicUpstream.requests[0]!.format).toBe('anthropic');
    const stream = await openai.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'cross stream' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let total = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) total = chunk.usage.total_tokens;
    }
    expect(text).toBe('echo: cross stream');
    expect(total).toBeGreaterThan(0);
  });

  it('turns an in-stream provider error after output into an error event', async () => {
    anthropicUpstream.enqueue({ kind: 'stream-error', afterChunks: 4 });
    const error = await anthropic.messages
      .stream({
        model: 'claude',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'this will break midway through' }],
      })
      .finalMessage()
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(Anthropic.APIError);
  });
});
