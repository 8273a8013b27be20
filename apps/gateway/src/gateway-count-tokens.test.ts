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

  it('answers Anthropic-shaped errors: an upstream 529 overload, an unknown model, a missing field', async () => {
    upstream.enqueue({ kind: 'status', status: 529 });
    const overloaded = await anthropic.messages
      .countTokens({ model: 'sonnet', messages })
      .catch((error: unknown) => error);
    expect(overloaded).toBeInstanceOf(Anthropic.APIError);
    // The gateway answers an upstream overload as it does for chat: 503 with Anthropic's overloaded_error.
    expect((overloaded as InstanceType<typeof Anthropic.APIError>).status).toBe(503);
    expect(JSON.stringify((overloaded as InstanceType<typeof Anthropic.APIError>).error)).toContain(
      'overloaded_error',
    );
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
