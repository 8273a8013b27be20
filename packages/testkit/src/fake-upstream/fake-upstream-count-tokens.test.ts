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

describe('fake upstream count_tokens through the @anthropic-ai/sdk', () => {
  it('answers messages.countTokens with input_tokens, without max_tokens, and records the request', async () => {
    const counted = await client.messages.countTokens({
      model: 'claude-haiku-4-5',
      system: 'be brief',
      messages: [{ role: 'user', content: 'count these words please' }],
    });
    expect(counted.input_tokens).toBeGreaterThan(0);
    expect(upstream.requests[0]).toMatchObject({ path: '/v1/messages/count_tokens', format: 'anthropic' });
  });

  it('applies faults like any route, in the Anthropic error shape', async () => {
    upstream.enqueue({ kind: 'status', status: 529 });
    const failed = await client.messages
      .countTokens({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] })
      .catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(Anthropic.APIError);
    expect((failed as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    const missing = await client.messages
      .countTokens({ model: 'claude-haiku-4-5' } as unknown as Anthropic.MessageCountTokensParams)
      .catch((error: unknown) => error);
    expect((missing as InstanceType<typeof Anthropic.APIError>).status).toBe(400);
  });
});
