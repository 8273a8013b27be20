import Anthropic from '@anthropic-ai/sdk';
import { countRequestTokens } from '@bulwark/core';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import { loadO200kTokenEstimator } from '@bulwark/usage';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';
import { captureLogs } from './test-helpers/log-capture.js';

const upstreamKey = 'sk-test-upstream-count-0123456789';
let upstream: FakeUpstream;
let gateway: Gateway;
let anthropic: Anthropic;
const logs = captureLogs();

beforeAll(async () => {
  upstream = await createFakeUpstream({ apiKey: upstreamKey });
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      providers: {
        claude: { plugin: 'anthropic', baseURL: upstream.anthropicBaseURL, apiKey: upstreamKey },
        gpt: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: upstreamKey },
      },
      models: {
        sonnet: [{ provider: 'claude', model: 'claude-sonnet-4-5' }],
        smart: [{ provider: 'gpt', model: 'gpt-4o' }],
        pair: [
          { provider: 'claude', model: 'claude-sonnet-4-5' },
          { provider: 'claude', model: 'claude-haiku-4-5' },
        ],
      },
      retry: false,
      breaker: false,
      log: { level: 'error' },
    },
    logger: logs.logger,
  });
  const url = await gateway.listen();
  anthropic = new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
});

afterEach(() => upstream.reset());

afterAll(async () => {
  await gateway.close({ drainTimeoutMs: 0 });
  await upstream.close();
});

const messages: Anthropic.MessageParam[] = [
  { role: 'user', content: 'How many tokens is this sentence? 速率限制器在每次调用之前预留令牌。' },
  { role: 'assistant', content: 'Let me count.' },
  { role: 'user', content: 'Thanks.' },
];

describe('/v1/messages/count_tokens', () => {
  it('forwards to an Anthropic target as sent, only the model replaced', async () => {
    const { data, response } = await anthropic.messages
      .countTokens({ model: 'sonnet', system: 'be brief', messages })
      .withResponse();
    expect(data.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-bulwark-estimated')).toBeNull();
    expect(response.headers.get('x-bulwark-target')).toBe('claude/claude-sonnet-4-5');
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]!.path).toBe('/v1/messages/count_tokens');
    expect(upstream.requests[0]!.body).toEqual({ model: 'claude-sonnet-4-5', system: 'be brief', messages });
  });

  it('counts locally for another target with o200k plus framing, marked estimated, no upstream call', async () => {
    const { data, response } = await anthropic.messages
      .countTokens({ model: 'smart', system: 'be brief', messages })
      .withResponse();
    const o200k = await loadO200kTokenEstimator();
    const expected = countRequestTokens(
      {
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: messages[0]!.content as string },
          { role: 'assistant', content: 'Let me count.' },
          { role: 'user', content: 'Thanks.' },
        ],
      },
      o200k,
    );
    expect(data.input_tokens).toBe(expected);
    expect(response.headers.get('x-bulwark-estimated')).toBe('true');
    expect(response.headers.get('x-bulwark-estimator')).toBe('o200k');
    expect(upstream.requests).toHaveLength(0);
  });

  it('falls back to the next counting target, then to the local count marked estimated, when upstreams fail', async () => {
    upstream.enqueue({ kind: 'status', status: 529 });
    const next = await anthropic.messages.countTokens({ model: 'pair', messages }).withResponse();
    expect(next.data.input_tokens).toBeGreaterThan(0);
    expect(next.response.headers.get('x-bulwark-target')).toBe('claude/claude-haiku-4-5');
    expect(next.response.headers.get('x-bulwark-attempts')).toBe('2');
    expect(next.response.headers.get('x-bulwark-estimated')).toBeNull();
    expect(upstream.requests.map((request) => (request.body as { model: string }).model)).toEqual([
      'claude-sonnet-4-5',
      'claude-haiku-4-5',
    ]);

    upstream.reset();
    upstream.enqueue({ kind: 'status', status: 529 });
    const local = await anthropic.messages.countTokens({ model: 'sonnet', messages }).withResponse();
    expect(local.data.input_tokens).toBeGreaterThan(0);
    expect(local.response.headers.get('x-bulwark-estimated')).toBe('true');
    expect(local.response.headers.get('x-bulwark-count-fallback')).toBe('overloaded');
    expect(upstream.requests).toHaveLength(1);
  });

  it("answers the request's own errors in Anthropic's shape: an upstream 400, an unknown model, a missing field", async () => {
    upstream.enqueue({ kind: 'status', status: 400 });
    const refused = await anthropic.messages
      .countTokens({ model: 'pair', messages })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Anthropic.APIError);
    expect((refused as InstanceType<typeof Anthropic.APIError>).status).toBe(400);
    // An invalid request is not the upstream's fault: no second target, no local estimate.
    expect(upstream.requests).toHaveLength(1);
    const unknown = await anthropic.messages
      .countTokens({ model: 'nope', messages })
      .catch((error: unknown) => error);
    expect((unknown as InstanceType<typeof Anthropic.APIError>).status).toBe(404);
    const missing = await anthropic.messages
      .countTokens({ model: 'smart' } as unknown as Anthropic.MessageCountTokensParams)
      .catch((error: unknown) => error);
    expect((missing as InstanceType<typeof Anthropic.APIError>).status).toBe(400);
    expect((missing as Error).message).toContain('messages');
  });
});
