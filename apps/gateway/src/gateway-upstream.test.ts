import Anthropic from '@anthropic-ai/sdk';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';
import { captureLogs } from './test-helpers/log-capture.js';

const upstreamKey = 'sk-test-upstream-secret-0123456789';
const clientKey = 'bulwark-client-key-abcdef';
const metricsKey = 'bulwark-metrics-key-abcdef';

let primary: FakeUpstream;
let backup: FakeUpstream;
let gateway: Gateway;
let openai: OpenAI;
let anthropic: Anthropic;
const logs = captureLogs();

beforeAll(async () => {
  primary = await createFakeUpstream({ apiKey: upstreamKey });
  backup = await createFakeUpstream({ apiKey: upstreamKey });
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      auth: {
        keys: [
          { key: clientKey, name: 'team-a' },
          { key: metricsKey, name: 'prometheus', roles: ['metrics'] },
        ],
      },
      providers: {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
        main: { plugin: 'openai', baseURL: primary.openaiBaseURL, apiKey: '${env:TEST_UPSTREAM_KEY}' },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's env syntax under test
        spare: { plugin: 'openai', baseURL: backup.openaiBaseURL, apiKey: '${env:TEST_UPSTREAM_KEY}' },
      },
      models: {
        smart: [
          { provider: 'main', model: 'gpt-4o' },
          { provider: 'spare', model: 'gpt-4o-mini' },
        ],
        solo: [{ provider: 'main', model: 'gpt-4o' }],
      },
      retry: false,
      breaker: false,
    },
    env: { TEST_UPSTREAM_KEY: upstreamKey },
    logger: logs.logger,
  });
  const url = await gateway.listen();
  openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: clientKey, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: url, apiKey: clientKey, maxRetries: 0 });
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

describe('through the OpenAI provider to a fake upstream', () => {
  it('serves an OpenAI client, with the upstream key and never the client key upstream', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'solo', messages: [{ role: 'user', content: 'ping' }], temperature: 0.2 })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: ping');
    expect(response.headers.get('x-bulwark-target')).toBe('main/gpt-4o');
    expect(primary.requests).toHaveLength(1);
    const upstream = primary.requests[0]!;
    expect(upstream.headers.authorization).toBe(`Bearer ${upstreamKey}`);
    expect(JSON.stringify(upstream.headers)).not.toContain(clientKey);
    expect((upstream.body as { model: string; temperature: number }).model).toBe('gpt-4o');
  });

  it('serves an Anthropic client from an OpenAI target, plain and streamed', async () => {
    const message = await anthropic.messages.create({
      model: 'solo',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'cross' }],
    });
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'echo: cross' });
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    const stream = anthropic.messages.stream({
      model: 'solo',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'cross stream' }],
    });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'echo: cross stream' });
    expect(final.stop_reason).toBe('end_turn');
    expect(primary.requests.at(-1)!.format).toBe('openai');
  });

  it('relays tool calls across formats', async () => {
    primary.enqueue({ kind: 'reply', toolCalls: [{ id: 'call_9', name: 'lookup', arguments: '{"q":"x"}' }] });
    const message = await anthropic.messages.create({
      model: 'solo',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'use the tool' }],
      tools: [{ name: 'lookup', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }],
    });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toContainEqual(
      expect.objectContaining({ type: 'tool_use', id: 'call_9', name: 'lookup', input: { q: 'x' } }),
    );
    const sent = primary.requests[0]!.body as { tools: Array<{ function: { name: string } }> };
    expect(sent.tools[0]!.function.name).toBe('lookup');
  });

  it('falls back to the next target when the primary fails, invisibly to the client', async () => {
    primary.enqueue({ kind: 'status', status: 500 });
    const { data, response } = await openai.chat.completions
      .create({ model: 'smart', messages: [{ role: 'user', content: 'fallback please' }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: fallback please');
    expect(response.headers.get('x-bulwark-target')).toBe('spare/gpt-4o-mini');
    expect(response.headers.get('x-bulwark-attempts')).toBe('2');
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(1);
  });

  it('falls back before the first token of a stream', async () => {
    primary.enqueue({ kind: 'reset' });
    const stream = await openai.chat.completions.create({
      model: 'smart',
      messages: [{ role: 'user', content: 'stream fallback' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: stream fallback');
    expect(backup.requests).toHaveLength(1);
  });

  it('answers 502 with the attempt trail when every target fails, and leaks no key', async () => {
    primary.enqueue({ kind: 'status', status: 401 });
    backup.enqueue({ kind: 'status', status: 500 });
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${clientKey}` },
      body: JSON.stringify({ model: 'smart', messages: [{ role: 'user', content: 'doomed' }] }),
    });
    expect(response.status).toBe(502);
    expect(response.headers.get('x-bulwark-attempts')).toBe('2');
    const text = await response.text();
    const body = JSON.parse(text) as { error: { attempts: Array<{ provider: string; status: number }> } };
    expect(body.error.attempts.map((attempt) => [attempt.provider, attempt.status])).toEqual([
      ['main', 401],
      ['spare', 500],
    ]);
    expect(text).not.toContain(upstreamKey);
    expect(text).not.toContain(clientKey);
  });

  it('ends a stream that breaks after output with an error the SDKs raise (no [DONE] / message_stop)', async () => {
    primary.enqueue({ kind: 'cut', afterChunks: 3 });
    const stream = await openai.chat.completions.create({
      model: 'solo',
      messages: [{ role: 'user', content: 'a long answer with many words in it' }],
      stream: true,
    });
    let received = '';
    const error = await (async () => {
      for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? '';
    })().catch((thrown: unknown) => thrown);
    expect(received.length).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(OpenAI.APIError);

    primary.enqueue({ kind: 'cut', afterChunks: 3 });
    const anthropicStream = anthropic.messages.stream({
      model: 'solo',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'a long answer with many words in it' }],
    });
    const anthropicError = await anthropicStream.finalMessage().catch((thrown: unknown) => thrown);
    expect(anthropicError).toBeInstanceOf(Anthropic.APIError);
  });

  it('shows the raw SSE of a broken stream: an error event and no terminator', async () => {
    primary.enqueue({ kind: 'cut', afterChunks: 3 });
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': clientKey },
      body: JSON.stringify({
        model: 'solo',
        max_tokens: 50,
        stream: true,
        messages: [{ role: 'user', content: 'a long answer with many words' }],
      }),
    });
    const text = await response.text();
    expect(text).toContain('event: content_block_delta');
    expect(text).toContain('event: error');
    expect(text).not.toContain('message_stop');
  });

  it('aborts the upstream call at once when the client disconnects', async () => {
    primary.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const pending = fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${clientKey}` },
      body: JSON.stringify({ model: 'solo', messages: [{ role: 'user', content: 'hang' }] }),
    }).catch(() => undefined);
    await primary.waitForConnections(1, 5000);
    await vi_waitFor(() => primary.requests.length === 1);
    controller.abort();
    await pending;
    await vi_waitFor(() => primary.openConnections() === 0);
    expect(primary.openConnections()).toBe(0);
  });
});

describe('auth', () => {
  it('answers 401 in each format for a missing or wrong key', async () => {
    const wrongOpenAI = new OpenAI({
      baseURL: `${gateway.url}/v1`,
      apiKey: 'not-the-key-123',
      maxRetries: 0,
    });
    await expect(
      wrongOpenAI.chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const wrongAnthropic = new Anthropic({ baseURL: gateway.url!, apiKey: 'not-the-key-123', maxRetries: 0 });
    await expect(
      wrongAnthropic.messages.create({
        model: 'solo',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    expect(primary.requests).toHaveLength(0);
  });
});

describe('breaker', () => {
  it('stops sending traffic to a dead upstream (its request count proves it)', async () => {
    const dead = await createFakeUpstream({ defaultBehavior: { kind: 'status', status: 503 } });
    const healthy = await createFakeUpstream();
    const guarded = await createGateway({
      config: {
        server: { port: 0 },
        providers: {
          dead: { plugin: 'openai', baseURL: dead.openaiBaseURL, apiKey: 'sk-test-dead-0000' },
          healthy: { plugin: 'openai', baseURL: healthy.openaiBaseURL, apiKey: 'sk-test-healthy-0000' },
        },
        models: {
          smart: [
            { provider: 'dead', model: 'gpt-4o' },
            { provider: 'healthy', model: 'gpt-4o' },
          ],
        },
        retry: false,
        breaker: { failureThreshold: 2, cooldownMs: 60_000 },
        log: { level: 'error' },
      },
    });
    try {
      const client = new OpenAI({ baseURL: `${await guarded.listen()}/v1`, apiKey: 'none', maxRetries: 0 });
      for (let call = 0; call < 6; call += 1) {
        const answer = await client.chat.completions.create({
          model: 'smart',
          messages: [{ role: 'user', content: `call ${call}` }],
        });
        expect(answer.choices[0]!.message.content).toBe(`echo: call ${call}`);
      }
      expect(dead.requests).toHaveLength(2);
      expect(healthy.requests).toHaveLength(6);
      const metrics = await (await fetch(`${guarded.url}/metrics`)).text();
      expect(metrics).toMatch(/bulwark_breaker_state\{provider="dead",model="gpt-4o"\} 2/);
    } finally {
      await guarded.close({ drainTimeoutMs: 0 });
      await dead.close();
      await healthy.close();
    }
  });
});

describe('observability', () => {
  it('exposes Prometheus metrics and never a secret in metrics or logs', async () => {
    await openai.chat.completions.create({
      model: 'solo',
      messages: [{ role: 'user', content: 'count me' }],
    });
    const metrics = await (
      await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${metricsKey}` } })
    ).text();
    expect(metrics).toMatch(/bulwark_requests_total\{route="openai",model="solo",status="200"\} \d+/);
    expect(metrics).toMatch(/bulwark_attempts_total\{provider="main",model="gpt-4o",outcome="success"\} \d+/);
    expect(metrics).toMatch(
      /bulwark_tokens_total\{provider="main",model="gpt-4o",tenant="team-a",type="input"\} \d+/,
    );
    expect(metrics).toContain('bulwark_request_duration_seconds_bucket');
    expect(metrics).toContain('bulwark_time_to_first_token_seconds_bucket');
    expect(metrics).toContain('bulwark_cost_usd_total');
    for (const secret of [upstreamKey, clientKey, metricsKey]) {
      expect(metrics).not.toContain(secret);
      expect(logs.lines.join('\n')).not.toContain(secret);
    }
  });
});

async function vi_waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
