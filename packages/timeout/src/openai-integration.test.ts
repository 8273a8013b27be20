import { createBulwark, TimeoutError } from '@bulwark/core';
import { createOpenAIProvider } from '@bulwark/provider-openai';
import { createRetry } from '@bulwark/retry';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import { drain, outcome } from '@bulwark/testkit/scenarios';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAttemptTimeout } from './attempt-timeout.js';

// Real time on purpose: the point is that the real SDK's socket to a real HTTP server is closed.
describe('attempt timeouts through the real OpenAI SDK against the fake upstream', () => {
  let upstream: FakeUpstream;
  const request = { model: 'smart', messages: [{ role: 'user' as const, content: 'Hello over HTTP' }] };
  const client = (middleware: Parameters<typeof createBulwark>[0]['middleware']) =>
    createBulwark({
      providers: [
        createOpenAIProvider({ name: 'openai', baseURL: upstream.openaiBaseURL, apiKey: 'sk-test-timeouts' }),
      ],
      models: { smart: [{ provider: 'openai', model: 'gpt-4o-mini' }] },
      middleware,
    });

  beforeAll(async () => {
    upstream = await createFakeUpstream();
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await upstream.close();
  });

  it('a hanging upstream times out on first token and its socket is closed', async () => {
    upstream.enqueue({ kind: 'hang' });
    const bulwark = client([createAttemptTimeout({ firstTokenMs: 300 })]);
    const pending = outcome(bulwark.chat(request));
    await upstream.waitForConnections(1);
    const result = await pending;
    expect(TimeoutError.isInstance(result.error)).toBe(true);
    expect(result.error).toMatchObject({ phase: 'first-token', timeoutMs: 300 });
    await upstream.waitForConnections(0);
    expect(upstream.openConnections()).toBe(0);
    expect(upstream.requests).toHaveLength(1);
  });

  it('a stream that stalls after two chunks hits the idle timeout and its socket is closed', async () => {
    upstream.enqueue({ kind: 'stall', afterChunks: 2 });
    const bulwark = client([createRetry(), createAttemptTimeout({ firstTokenMs: 2000, idleMs: 300 })]);
    const pending = drain(bulwark.stream(request));
    await upstream.waitForConnections(1);
    const { seen, error } = await pending;
    expect(seen.length).toBeGreaterThan(0);
    // Output may or may not have reached the caller before the stall; either way the cause is the idle timeout.
    const cause = error.code === 'stream_interrupted' ? error.cause : error;
    expect(cause).toMatchObject({ code: 'timeout', phase: 'idle', timeoutMs: 300 });
    await upstream.waitForConnections(0);
    expect(upstream.openConnections()).toBe(0);
  });

  it('retries after a first-token timeout and succeeds on the next attempt: exactly two upstream requests', async () => {
    upstream.enqueue({ kind: 'hang' }, { kind: 'reply', text: 'second time lucky' });
    const bulwark = client([
      createRetry({ baseDelayMs: 10, maxDelayMs: 10 }),
      createAttemptTimeout({ firstTokenMs: 300 }),
    ]);
    const response = await bulwark.chat(request);
    expect(response.text).toBe('second time lucky');
    expect(upstream.requests).toHaveLength(2);
    expect(response.attempts.map((attempt) => attempt.error ?? 'ok')).toEqual(['timeout', 'ok']);
  });

  it('honours retry-after end to end', async () => {
    upstream.enqueue({ kind: 'status', status: 429, headers: { 'retry-after-ms': '400' } });
    const bulwark = client([createRetry({ random: () => 0 })]);
    const started = Date.now();
    const response = await bulwark.chat(request);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(upstream.requests).toHaveLength(2);
    expect(upstream.requests[1]!.receivedAt - upstream.requests[0]!.receivedAt).toBeGreaterThanOrEqual(390);
    expect(response.attempts.map((attempt) => attempt.status ?? 'ok')).toEqual([429, 'ok']);
  });
});
