import { createFakeUpstream, createTestCallContext, type FakeUpstream } from '@bulwark/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicProvider } from './anthropic-provider.js';

const apiKey = 'sk-ant-test-count-tokens-0123456789';
let upstream: FakeUpstream;

beforeEach(async () => {
  upstream = await createFakeUpstream({ apiKey });
});
afterEach(() => upstream.close());

describe('countTokens', () => {
  it('forwards the body as sent with the target model to /v1/messages/count_tokens', async () => {
    const provider = createAnthropicProvider({ name: 'claude', apiKey, baseURL: upstream.anthropicBaseURL });
    const body = {
      model: 'alias',
      system: 'short',
      messages: [{ role: 'user', content: 'count me' }],
      tools: [],
    };
    const counted = await provider.countTokens!(
      { model: 'claude-haiku-4-5', body, headers: { 'anthropic-beta': 'token-counting-2024-11-01' } },
      createTestCallContext(),
    );
    expect(counted.inputTokens).toBeGreaterThan(0);
    const sent = upstream.requests[0]!;
    expect(sent.path).toBe('/v1/messages/count_tokens');
    expect(sent.body).toEqual({ ...body, model: 'claude-haiku-4-5' });
    expect(sent.headers['anthropic-beta']).toBe('token-counting-2024-11-01');
    expect(body.model).toBe('alias');
  });

  it('maps upstream failures to Bulwark errors', async () => {
    upstream.enqueue({ kind: 'status', status: 529 });
    const provider = createAnthropicProvider({ name: 'claude', apiKey, baseURL: upstream.anthropicBaseURL });
    await expect(
      provider.countTokens!({ model: 'claude-haiku-4-5', body: { messages: [] } }, createTestCallContext()),
    ).rejects.toMatchObject({ code: 'overloaded', provider: 'claude' });
  });
});
