import { getEventListeners } from 'node:events';
import { AbortedError, collectStream, StreamInterruptedError, TimeoutError } from '@bulwark/core';
import { createMockProvider } from '@bulwark/provider-mock';
import { createRetry } from '@bulwark/retry';
import { createScenario, drain, outcome, userRequest } from '@bulwark/testkit/scenarios';
import { describe, expect, it } from 'vitest';
import { createAttemptTimeout } from './attempt-timeout.js';
import { createDeadline } from './deadline.js';

const ask = userRequest('Tell me about timeouts');
const scenario = createScenario(createMockProvider);

describe('createAttemptTimeout', () => {
  it('times out a non-streaming attempt, aborts it, and leaves no timer', async () => {
    const { clock, bulwark, mocks } = scenario([createAttemptTimeout({ firstTokenMs: 1000 })], {
      primary: { latencyMs: 5000 },
    });
    const result = await outcome(clock.run(bulwark.chat(ask)));
    expect(TimeoutError.isInstance(result.error)).toBe(true);
    expect(result.error).toMatchObject({
      phase: 'first-token',
      timeoutMs: 1000,
      retryable: true,
      provider: 'primary',
    });
    expect(clock.now()).toBe(1000);
    expect(mocks.primary!.calls[0]).toMatchObject({ outcome: 'aborted', endedAt: 1000 });
    expect(clock.pending()).toBe(0);
  });

  it('times out a hanging stream before its first event; the retry then succeeds', async () => {
    const { clock, bulwark, mocks } = scenario(
      [createRetry({ random: () => 0 }), createAttemptTimeout({ firstTokenMs: 2000 })],
      { primary: { script: [{ hang: true }, 'ok'] } },
    );
    const response = await clock.run(collectStream(bulwark.stream(ask)));
    expect(response.text).toContain('Tell me about timeouts');
    expect(mocks.primary!.calls.map((call) => call.outcome)).toEqual(['aborted', 'success']);
    expect(mocks.primary!.calls[1]!.startedAt).toBe(2000);
  });

  it('falls back to the next target when every attempt times out', async () => {
    const { clock, bulwark } = scenario(
      [createRetry({ random: () => 0, maxAttempts: 2 }), createAttemptTimeout({ firstTokenMs: 500 })],
      { primary: { latencyMs: 60_000 }, secondary: { latencyMs: 100 } },
    );
    const response = await clock.run(bulwark.chat(ask));
    expect(response.provider).toBe('secondary');
    expect(response.attempts.map((attempt) => `${attempt.provider}:${attempt.error ?? 'ok'}`)).toEqual([
      'primary:timeout',
      'primary:timeout',
      'secondary:ok',
    ]);
    expect(clock.now()).toBe(1100);
  });

  it('raises an idle timeout when a stream stalls after output; committed, so it is not retried', async () => {
    const { clock, bulwark, mocks } = scenario(
      [createRetry(), createAttemptTimeout({ firstTokenMs: 5000, idleMs: 1000 })],
      { primary: { script: [{ streamStallAfter: 3 }], chunkSize: 4, chunkDelayMs: 100 } },
    );
    const { seen, error } = await clock.run(drain(bulwark.stream(ask)));
    expect(StreamInterruptedError.isInstance(error)).toBe(true);
    expect(error.cause).toMatchObject({ code: 'timeout', phase: 'idle', timeoutMs: 1000 });
    expect(error.partial.text).toBe('Mock answer ');
    expect(seen.filter((event) => event.type === 'text-delta')).toHaveLength(3);
    expect(mocks.primary!.callCount).toBe(1);
    expect(mocks.primary!.calls[0]!.outcome).toBe('aborted');
    expect(clock.now()).toBe(1200);
    expect(clock.pending()).toBe(0);
  });

  it('does not count the consumer’s own time as idle, and does not abort a stream it returned', async () => {
    const { clock, bulwark } = scenario([createAttemptTimeout({ firstTokenMs: 1000, idleMs: 1000 })], {
      primary: { chunkSize: 2, chunkDelayMs: 500 },
    });
    const consume = async () => {
      let text = '';
      for await (const event of bulwark.stream(ask)) {
        if (event.type === 'text-delta') text += event.text;
        await clock.sleep(5000);
      }
      return text;
    };
    const text = await clock.run(consume());
    expect(text).toBe('Mock answer from primary-model: Tell me about timeouts');
    expect(clock.now()).toBeGreaterThan(50_000);
  });

  it('keeps attempts isolated: one attempt timing out does not abort a concurrent one', async () => {
    const { clock, bulwark, mocks } = scenario([createAttemptTimeout({ firstTokenMs: 1000 })], {
      primary: { script: [{ latencyMs: 5000 }, { latencyMs: 900 }] },
    });
    const [slow, fast] = await clock.run(
      Promise.all([outcome(bulwark.chat(ask)), outcome(bulwark.chat(ask))]),
    );
    expect(slow.error).toMatchObject({ code: 'timeout', phase: 'first-token' });
    expect(fast.value?.provider).toBe('primary');
    expect(mocks.primary!.calls.map((call) => call.outcome)).toEqual(['aborted', 'success']);
  });

  it('reports a caller abort as an abort, not a timeout', async () => {
    const { clock, bulwark, eventsNamed } = scenario(
      [createRetry(), createAttemptTimeout({ firstTokenMs: 1000 })],
      {
        primary: { latencyMs: 5000 },
      },
    );
    const controller = new AbortController();
    const call = outcome(bulwark.chat(ask, { signal: controller.signal }));
    await clock.advance(10);
    controller.abort(new Error('navigated away'));
    const result = await call;
    expect(AbortedError.isInstance(result.error)).toBe(true);
    expect(eventsNamed('retry:scheduled')).toHaveLength(0);
    expect(clock.pending()).toBe(0);
  });

  it('leaves no timer or listener behind after a thousand retried timeouts', async () => {
    const { clock, bulwark, mocks } = scenario(
      [
        createRetry({ random: () => 0, maxAttempts: 2, budget: false }),
        createAttemptTimeout({ firstTokenMs: 100, idleMs: 100 }),
      ],
      { primary: { latencyMs: 1000 } },
    );
    const controller = new AbortController();
    const results = await clock.run(
      Promise.all(
        Array.from({ length: 500 }, () => outcome(bulwark.chat(ask, { signal: controller.signal }))),
      ),
    );
    const streamed = await clock.run(
      Promise.all(
        Array.from({ length: 500 }, () => drain(bulwark.stream(ask, { signal: controller.signal }))),
      ),
    );
    expect(results.every((result) => result.error?.phase === 'first-token')).toBe(true);
    expect(streamed.every((result) => result.error?.phase === 'first-token')).toBe(true);
    expect(mocks.primary!.callCount).toBe(2000);
    expect(mocks.primary!.inFlight).toBe(0);
    expect(clock.pending()).toBe(0);
    // Node counts listeners per event type; none may remain on the caller's long-lived signal.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('passes calls through untouched when no timeout is set', async () => {
    const { clock, bulwark } = scenario([createAttemptTimeout({})], { primary: { latencyMs: 100_000 } });
    await expect(clock.run(bulwark.chat(ask))).resolves.toMatchObject({ provider: 'primary' });
  });

  it('names the bad option', () => {
    expect(() => createAttemptTimeout({ firstTokenMs: -1 })).toThrow(/firstTokenMs/);
    expect(() => createAttemptTimeout({ idleMs: Number.NaN })).toThrow(/idleMs/);
  });
});

describe('total deadline', () => {
  it('core enforces the caller’s timeoutMs across retries: total timeout, no fallback', async () => {
    const { clock, bulwark, mocks } = scenario(
      [createRetry({ random: () => 0, budget: false, maxAttempts: 10 })],
      {
        primary: { failureRate: 1, latencyMs: 700 },
        secondary: {},
      },
    );
    const result = await outcome(clock.run(bulwark.chat(ask, { timeoutMs: 2000 })));
    expect(result.error).toMatchObject({
      code: 'timeout',
      phase: 'total',
      retryable: false,
      fallbackable: false,
    });
    expect(clock.now()).toBe(2000);
    expect(mocks.secondary!.callCount).toBe(0);
    expect(result.error.attempts.length).toBeGreaterThanOrEqual(3);
  });

  it('createDeadline gives calls without timeoutMs a total deadline that retries respect', async () => {
    const { clock, bulwark, mocks, eventsNamed } = scenario(
      [
        createDeadline({ totalMs: 3000 }),
        createRetry({
          random: () => 0.99,
          baseDelayMs: 1000,
          maxDelayMs: 10_000,
          budget: false,
          maxAttempts: 10,
        }),
      ],
      { primary: { failureRate: 1, latencyMs: 500 } },
    );
    const result = await outcome(clock.run(bulwark.chat(ask)));
    // 0–500 fail, sleep ~990, 1490–1990 fail, next wait ~1980 would pass 3000: give up with the provider error.
    expect(result.error).toMatchObject({ code: 'server_error' });
    expect(mocks.primary!.callCount).toBe(2);
    expect(eventsNamed('retry:gave-up').at(-1)?.reason).toBe('deadline');
    expect(clock.now()).toBeLessThan(3000);
    expect(clock.pending()).toBe(0);
  });

  it('createDeadline aborts a hanging stream with a total timeout', async () => {
    const { clock, bulwark, mocks } = scenario([createDeadline({ totalMs: 4000 })], {
      primary: { script: [{ streamStallAfter: 2 }], chunkSize: 3 },
      secondary: {},
    });
    const { seen, error } = await clock.run(drain(bulwark.stream(ask)));
    expect(error).toMatchObject({ code: 'timeout', phase: 'total' });
    expect(seen.filter((event) => event.type === 'text-delta')).toHaveLength(2);
    expect(mocks.secondary!.callCount).toBe(0);
    expect(clock.now()).toBe(4000);
    expect(clock.pending()).toBe(0);
  });

  it('a caller’s shorter timeoutMs wins over the configured deadline', async () => {
    const { clock, bulwark } = scenario([createDeadline({ totalMs: 60_000 })], {
      primary: { latencyMs: 10_000 },
    });
    const result = await outcome(clock.run(bulwark.chat(ask, { timeoutMs: 1000 })));
    expect(result.error).toMatchObject({ phase: 'total', timeoutMs: 1000 });
    expect(clock.now()).toBe(1000);
  });

  it('names the bad option', () => {
    expect(() => createDeadline({ totalMs: 0 })).toThrow(/totalMs/);
  });
});

describe('timeouts and the life of the process', () => {
  it('deadline and attempt timers are unref’d bounds; the provider’s own wait is what holds the process', async () => {
    const { clock, bulwark } = scenario(
      [createDeadline({ totalMs: 10_000 }), createAttemptTimeout({ firstTokenMs: 5000 })],
      { primary: { latencyMs: 1000 } },
    );
    const call = bulwark.chat(ask, { timeoutMs: 20_000 });
    await clock.advance(0);
    // The call's timeoutMs, the deadline middleware and the first-token timeout bound the provider's latency.
    expect(clock.pending({ ref: false })).toBe(3);
    expect(clock.pending({ ref: true })).toBe(1);
    await clock.run(call);
    expect(clock.pending()).toBe(0);
  });
});
