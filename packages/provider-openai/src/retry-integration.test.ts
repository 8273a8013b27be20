import { type BulwarkError, createBulwark } from '@bulwark/core';
import { createRetry } from '@bulwark/retry';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAIProvider } from './openai-provider.js';

let upstream: FakeUpstream;
beforeEach(async () => {
  upstream = await createFakeUpstream();
});
afterEach(async () => {
  await upstream.close();
});

function client(maxAttempts: number) {
  const provider = createOpenAIProvider({
    apiKey: 'sk-test-retry-0123456789',
    baseURL: upstream.openaiBaseURL,
    models: ['gpt-4o-mini'],
  });
  return createBulwark({
    providers: [provider],
    middleware: [createRetry({ maxAttempts, baseDelayMs: 1, maxDelayMs: 5, budget: false })],
  });
}

const request = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };

describe('with Bulwark retry in front: the upstream sees exactly one request per attempt', () => {
  it('three attempts on a dead upstream make three requests', async () => {
    upstream.setDefault({ kind: 'status', status: 503 });
    const error = (await client(3)
      .chat(request)
      .catch((caught: unknown) => caught)) as BulwarkError;
    expect(error.code).toBe('server_error');
    expect(upstream.requests).toHaveLength(3);
    expect(error.attempts?.map((attempt) => attempt.status)).toEqual([503, 503, 503]);
  });

  it('a reset, then a 500, then an answer: three requests, three attempts recorded', async () => {
    upstream.enqueue({ kind: 'reset' }, { kind: 'status', status: 500 });
    const response = await client(3).chat(request);
    expect(response.text).toBe('echo: hi');
    expect(upstream.requests).toHaveLength(3);
    expect(response.attempts.map((attempt) => attempt.error ?? 'ok')).toEqual([
      'connection_error',
      'server_error',
      'ok',
    ]);
  });

  it('a non-retryable answer is tried once', async () => {
    upstream.setDefault({ kind: 'status', status: 401 });
    await expect(client(3).chat(request)).rejects.toMatchObject({ code: 'authentication' });
    expect(upstream.requests).toHaveLength(1);
  });
});
