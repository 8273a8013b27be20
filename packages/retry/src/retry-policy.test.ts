import {
  AbortedError,
  collectStream,
  createBulwark,
  createRetryBudget,
  createVirtualClock,
  type MiddlewareV1,
  RateLimitError,
  type StreamEvent,
  StreamInterruptedError,
} from '@bulwark/core';
import { createMockProvider, createSeededRandom } from '@bulwark/provider-mock';
import { createScenario, outcome, userRequest } from '@bulwark/testkit/scenarios';
import { describe, expect, it } from 'vitest';
import { createRetry } from './retry-policy.js';

const ask = userRequest('What is a circuit breaker?');
const scenario = createScenario(createMockProvider);

const gaps = (starts: number[]) => starts.slice(1).map((start, index) => start - starts[index]!);

describe('retry: what is retried', () => {
  it('retries transient failures until one succeeds', async () => {
    for (const failure of [
      'rate_limited',
      'overloaded',
      'server_error',
      'timeout',
      'connection_error',
      'invalid_response',
    ] as const) {
      const { clock, bulwark, mocks } = scenario([createRetry({ random: createSeededRandom(1) })], {
        primary: { script: [failure, failure, 'ok'] },
      });
      const response = await clock.run(bulwark.chat(ask));
      expect(response.provider, failure).toBe('primary');
      expect(mocks.primary!.callCount, failure).toBe(3);
      expect(response.attempts.map((attempt) => attempt.error)).toEqual([failure, failure, undefined]);
    }
  });

  it('never retries 400, 401, 403, 404, context length, content filter or a spent quota', async () => {
    for (const failure of [
      'invalid_request',
      'authentication',
      'permission',
      'not_found',
      'context_length_exceeded',
      'content_filtered',
      'quota',
    ] as const) {
      const { clock, bulwark, mocks, eventsNamed } = scenario([createRetry()], {
        primary: { script: [failure] },
      });
      const result = await outcome(clock.run(bulwark.chat(ask)));
      expect(result.error?.code, failure).toBe(failure === 'quota' ? 'rate_limited' : failure);
      expect(mocks.primary!.callCount, failure).toBe(1);
      expect(eventsNamed('retry:gave-up')[0]?.reason).toBe('non-retryable');
      expect(clock.now()).toBe(0);
    }
  });

  it("does not retry a rejection by Bulwark's own limiter: its queue already waited, the router moves on", async () => {
    const localLimit: MiddlewareV1 = {
      specificationVersion: 'v1',
      name: 'full-limiter',
      stage: 'limiter',
      complete: async () => {
        throw new RateLimitError({ scope: 'limiter', retryAfterMs: 500 });
      },
    };
    const { clock, bulwark, eventsNamed } = scenario([createRetry(), localLimit]);
    const result = await outcome(clock.run(bulwark.chat(ask)));
    expect(RateLimitError.isInstance(result.error) && result.error.scope).toBe('limiter');
    expect(eventsNamed('retry:gave-up')[0]?.reason).toBe('local-rejection');
    expect(eventsNamed('retry:scheduled')).toHaveLength(0);
    expect(clock.now()).toBe(0);
  });

  it('obeys x-should-retry over the status: false on a 503 stops, true on a 400 retries', async () => {
    const { clock, bulwark, mocks } = scenario([createRetry({ random: () => 0 })], {
      primary: {
        script: [
          { error: 'server_error', status: 503, headers: { 'x-should-retry': 'false' } },
          { error: 'invalid_request', headers: { 'x-should-retry': 'true' } },
          'ok',
        ],
      },
    });
    const first = await outcome(clock.run(bulwark.chat(ask)));
    expect(first.error).toMatchObject({ code: 'server_error', retryable: false });
    expect(mocks.primary!.callCount).toBe(1);
    const second = await clock.run(bulwark.chat(ask));
    expect(second.attempts.map((attempt) => attempt.error ?? 'ok')).toEqual(['invalid_request', 'ok']);
  });

  it('gives up after maxAttempts (first attempt included) and rethrows the last error unchanged', async () => {
    const { clock, bulwark, mocks, eventsNamed } = scenario([createRetry({ maxAttempts: 3 })], {
      primary: {
        script: ['server_error', 'server_error', { error: 'server_error', status: 503, message: 'third' }],
      },
    });
    const result = await outcome(clock.run(bulwark.chat(ask)));
    expect(mocks.primary!.callCount).toBe(3);
    expect(result.error).toMatchObject({
      code: 'server_error',
      status: 503,
      message: 'primary answered 503: third',
    });
    expect(eventsNamed('retry:scheduled').map((event) => event.attempt)).toEqual([2, 3]);
    expect(eventsNamed('retry:gave-up')).toMatchObject([
      { reason: 'max-attempts', attempts: 3, error: 'server_error' },
    ]);
  });

  it('makes exactly one attempt with maxAttempts 1', async () => {
    const { clock, bulwark, mocks } = scenario([createRetry({ maxAttempts: 1 })], {
      primary: { script: ['server_error'] },
    });
    await outcome(clock.run(bulwark.chat(ask)));
    expect(mocks.primary!.callCount).toBe(1);
  });
});

describe('retry: backoff timing', () => {
  it('waits full-jitter delays within [0, min(cap, base·2^n))', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { clock, bulwark, mocks, eventsNamed } = scenario(
        [
          createRetry({
            maxAttempts: 5,
            baseDelayMs: 1000,
            maxDelayMs: 3000,
            random: createSeededRandom(seed),
            budget: false,
          }),
        ],
        { primary: { failureRate: 1 } },
      );
      await outcome(clock.run(bulwark.chat(ask)));
      const delays = gaps(mocks.primary!.calls.map((call) => call.startedAt));
      expect(delays).toHaveLength(4);
      expect(delays[0]).toBeLessThan(1000);
      expect(delays[1]).toBeLessThan(2000);
      expect(delays[2]).toBeLessThanOrEqual(3000);
      expect(delays[3]).toBeLessThanOrEqual(3000);
      for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(0);
      expect(eventsNamed('retry:scheduled').map((event) => event.delayMs)).toEqual(delays);
    }
  });

  it('uses decorrelated jitter when asked', async () => {
    const { clock, bulwark, mocks } = scenario(
      [
        createRetry({
          maxAttempts: 6,
          jitter: 'decorrelated',
          baseDelayMs: 100,
          maxDelayMs: 10_000,
          random: createSeededRandom(3),
          budget: false,
        }),
      ],
      { primary: { failureRate: 1 } },
    );
    await outcome(clock.run(bulwark.chat(ask)));
    const delays = gaps(mocks.primary!.calls.map((call) => call.startedAt));
    let previous = 100;
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(100);
      expect(delay).toBeLessThanOrEqual(previous * 3);
      previous = delay;
    }
  });

  it('never retries sooner than retry-after (seconds), and at most 10% later', async () => {
    for (const seed of [1, 2, 3]) {
      const { clock, bulwark, mocks } = scenario([createRetry({ random: createSeededRandom(seed) })], {
        primary: { script: [{ error: 'rate_limited', retryAfter: '2' }, 'ok'] },
      });
      await clock.run(bulwark.chat(ask));
      const second = mocks.primary!.calls[1]!.startedAt;
      expect(second).toBeGreaterThanOrEqual(2000);
      expect(second).toBeLessThanOrEqual(2200);
    }
  });

  it('honours retry-after as an HTTP date against the clock', async () => {
    const start = Date.parse('2026-03-01T12:00:00.000Z');
    const { clock, bulwark, mocks } = scenario(
      [createRetry({ random: () => 0 })],
      {
        primary: {
          script: [{ error: 'rate_limited', retryAfter: new Date(start + 3000).toUTCString() }, 'ok'],
        },
      },
      { start },
    );
    await clock.run(bulwark.chat(ask));
    expect(mocks.primary!.calls[1]!.startedAt - start).toBe(3000);
  });

  it('prefers retry-after-ms over retry-after', async () => {
    const { clock, bulwark, mocks } = scenario([createRetry({ random: () => 0 })], {
      primary: { script: [{ error: 'rate_limited', retryAfterMs: 150, retryAfter: '5' }, 'ok'] },
    });
    await clock.run(bulwark.chat(ask));
    expect(mocks.primary!.calls[1]!.startedAt).toBe(150);
  });

  it('takes the longer of backoff and retry-after', async () => {
    const { clock, bulwark, mocks } = scenario(
      [createRetry({ random: () => 0.99, baseDelayMs: 4000, maxDelayMs: 4000 })],
      {
        primary: { script: [{ error: 'overloaded', retryAfterMs: 100 }, 'ok'] },
      },
    );
    await clock.run(bulwark.chat(ask));
    expect(mocks.primary!.calls[1]!.startedAt).toBeCloseTo(3960, 5);
  });

  it('does not retry a target whose retry-after exceeds the cap, and the router falls back at once', async () => {
    const { clock, bulwark, mocks, eventsNamed } = scenario([createRetry()], {
      primary: { script: [{ error: 'rate_limited', retryAfter: '600' }] },
      secondary: {},
    });
    const response = await clock.run(bulwark.chat(ask));
    expect(response.provider).toBe('secondary');
    expect(mocks.primary!.callCount).toBe(1);
    expect(mocks.secondary!.calls[0]!.startedAt).toBe(0);
    expect(eventsNamed('retry:gave-up')[0]).toMatchObject({
      reason: 'retry-after-too-long',
      retryAfterMs: 600_000,
    });
    expect(eventsNamed('fallback:taken')).toMatchObject([
      { from: { provider: 'primary' }, to: { provider: 'secondary' }, error: 'rate_limited' },
    ]);
  });
});

describe('retry: deadline, budget and abort', () => {
  it('fails at once when the wait would pass the deadline, with the provider error', async () => {
    const { clock, bulwark, mocks, eventsNamed } = scenario([createRetry()], {
      primary: { script: [{ error: 'rate_limited', retryAfterMs: 10_000 }] },
    });
    const result = await outcome(clock.run(bulwark.chat(ask, { timeoutMs: 5000 })));
    expect(result.error).toMatchObject({ code: 'rate_limited', retryAfterMs: 10_000 });
    expect(clock.now()).toBe(0);
    expect(mocks.primary!.callCount).toBe(1);
    expect(eventsNamed('retry:gave-up')[0]?.reason).toBe('deadline');
  });

  it('stops retrying when the total deadline fires during attempts', async () => {
    const { clock, bulwark, mocks } = scenario(
      [createRetry({ random: () => 0.5, maxAttempts: 10, budget: false })],
      {
        primary: { failureRate: 1, latencyMs: 1500 },
      },
    );
    const result = await outcome(clock.run(bulwark.chat(ask, { timeoutMs: 2000 })));
    expect(result.error).toMatchObject({ code: 'timeout', phase: 'total' });
    expect(clock.now()).toBe(2000);
    expect(mocks.primary!.calls.map((call) => [call.startedAt, call.outcome])).toEqual([
      [0, 'error'],
      [1750, 'aborted'],
    ]);
    expect(clock.pending()).toBe(0);
  });

  it('caps amplification during a full outage with the retry budget', async () => {
    const run = async (budget: boolean) => {
      const { clock, bulwark, mocks } = scenario(
        [
          createRetry({
            maxAttempts: 3,
            random: createSeededRandom(1),
            ...(budget ? {} : { budget: false }),
          }),
        ],
        { primary: { failureRate: 1 } },
      );
      const calls = Array.from({ length: 200 }, (_, index) =>
        clock.sleep(index * 100).then(() => outcome(bulwark.chat(ask))),
      );
      await clock.run(Promise.all(calls));
      return mocks.primary!.callCount / 200;
    };
    expect(await run(false)).toBe(3);
    const amplification = await run(true);
    // 10 tokens to start with plus 1 per second over ~20 s: at most ~30 retries for 200 calls.
    expect(amplification).toBeLessThanOrEqual(1.16);
    expect(amplification).toBeGreaterThan(1);
  });

  it('reports the exhausted budget and recovers it with successes', async () => {
    const budget = createRetryBudget({ ratio: 0.5, minPerSecond: 0, maxTokens: 2 });
    const { clock, bulwark, mocks, eventsNamed } = scenario([createRetry({ budget, random: () => 0 })], {
      primary: {
        script: [
          'server_error',
          'server_error',
          'server_error',
          'server_error',
          'ok',
          'ok',
          'server_error',
          'ok',
        ],
      },
    });
    await outcome(clock.run(bulwark.chat(ask)));
    // call 1: fails, retry (1 token left), fails, retry (0 left), fails: max attempts
    expect(mocks.primary!.callCount).toBe(3);
    const second = await outcome(clock.run(bulwark.chat(ask)));
    expect(second.error).toMatchObject({ code: 'server_error' });
    expect(mocks.primary!.callCount).toBe(4);
    expect(eventsNamed('retry:budget-exhausted')).toHaveLength(1);
    await clock.run(bulwark.chat(ask));
    await clock.run(bulwark.chat(ask));
    expect(budget.available).toBe(1);
    const recovered = await clock.run(bulwark.chat(ask));
    expect(recovered.attempts.map((attempt) => attempt.error)).toEqual(['server_error', undefined]);
  });

  it('keeps one budget per target', async () => {
    const { clock, bulwark, mocks } = scenario(
      [createRetry({ budget: { maxTokens: 1, minPerSecond: 0 }, random: () => 0 })],
      { primary: { failureRate: 1 }, secondary: { failureRate: 1 } },
    );
    await outcome(clock.run(bulwark.chat(ask)));
    expect(mocks.primary!.callCount).toBe(2);
    expect(mocks.secondary!.callCount).toBe(2);
  });

  it('ends at once when the caller aborts during the backoff sleep, leaving no timer', async () => {
    const { clock, bulwark, mocks } = scenario(
      [createRetry({ baseDelayMs: 10_000, maxDelayMs: 10_000, jitter: 'none' })],
      { primary: { script: ['server_error', 'ok'] } },
    );
    const controller = new AbortController();
    const call = outcome(bulwark.chat(ask, { signal: controller.signal }));
    await clock.advance(20);
    expect(clock.pending()).toBe(1);
    controller.abort(new Error('user left'));
    const result = await call;
    expect(AbortedError.isInstance(result.error)).toBe(true);
    expect(clock.now()).toBe(20);
    expect(clock.pending()).toBe(0);
    expect(mocks.primary!.callCount).toBe(1);
  });

  it('aborts the attempt in flight and never retries after a caller abort', async () => {
    const { clock, bulwark, mocks } = scenario([createRetry()], { primary: { script: [{ hang: true }] } });
    const controller = new AbortController();
    const call = outcome(bulwark.chat(ask, { signal: controller.signal }));
    await clock.advance(1000);
    controller.abort();
    const result = await call;
    expect(result.error?.code).toBe('aborted');
    expect(mocks.primary!.calls).toMatchObject([{ outcome: 'aborted' }]);
    expect(mocks.primary!.callCount).toBe(1);
  });
});

describe('retry: streams', () => {
  const collect = async (events: AsyncIterable<StreamEvent>) => {
    const seen: StreamEvent[] = [];
    try {
      for await (const event of events) seen.push(event);
      return { seen };
    } catch (error) {
      // biome-ignore lint/suspicious/noExplicitAny: assertions read fields of several error classes
      return { seen, error: error as any };
    }
  };

  it('retries an in-stream error before any content, without repeating the preamble', async () => {
    const { clock, bulwark, mocks } = scenario([createRetry({ random: () => 0 })], {
      primary: { script: [{ streamErrorAfter: 0, error: 'overloaded' }, 'ok'], chunkSize: 8 },
    });
    const { seen, error } = await clock.run(collect(bulwark.stream(ask)));
    expect(error).toBeUndefined();
    expect(seen.filter((event) => event.type === 'start')).toHaveLength(1);
    const text = seen.flatMap((event) => (event.type === 'text-delta' ? [event.text] : [])).join('');
    expect(text).toBe('Mock answer from primary-model: What is a circuit breaker?');
    expect(mocks.primary!.callCount).toBe(2);
  });

  it('does not retry after the first delta: the stream ends with StreamInterruptedError and the partial output', async () => {
    const { clock, bulwark, mocks, eventsNamed } = scenario([createRetry()], {
      primary: { script: [{ streamCutAfter: 3 }], chunkSize: 4 },
      secondary: {},
    });
    const { seen, error } = await clock.run(collect(bulwark.stream(ask)));
    expect(StreamInterruptedError.isInstance(error)).toBe(true);
    expect(error.partial.text).toBe('Mock answer ');
    expect(error.cause).toMatchObject({ code: 'connection_error' });
    expect(seen.filter((event) => event.type === 'text-delta')).toHaveLength(3);
    expect(seen.some((event) => event.type === 'finish')).toBe(false);
    expect(mocks.primary!.callCount).toBe(1);
    expect(mocks.secondary!.callCount).toBe(0);
    expect(eventsNamed('stream:interrupted')).toMatchObject([
      { provider: 'primary', error: 'connection_error', textLength: 12 },
    ]);
  });

  it('carries partial tool calls in the interrupted error', async () => {
    const { clock, bulwark } = scenario([createRetry()], {
      primary: { script: [{ streamCutAfter: 1 }], chunkSize: 6 },
    });
    const { error } = await clock.run(
      collect(
        bulwark.stream({
          ...ask,
          tools: [
            { name: 'search', parameters: { type: 'object', properties: { query: { type: 'string' } } } },
          ],
        }),
      ),
    );
    expect(error.partial.toolCalls).toMatchObject([{ name: 'search', arguments: '{"quer' }]);
  });

  it('falls back to the next target when the primary stream fails before any content on every attempt', async () => {
    const { clock, bulwark, mocks } = scenario([createRetry({ random: () => 0 })], {
      primary: { failureRate: 1, failureError: { streamErrorAfter: 0, error: 'server_error' } },
      secondary: {},
    });
    const response = await clock.run(collectStream(bulwark.stream(ask)));
    expect(response.provider).toBe('secondary');
    expect(mocks.primary!.callCount).toBe(3);
  });

  it('ends a stream at once when the caller aborts during the backoff sleep', async () => {
    const { clock, bulwark } = scenario([createRetry({ baseDelayMs: 5000, jitter: 'none' })], {
      primary: { script: ['server_error', 'ok'] },
    });
    const controller = new AbortController();
    const consuming = collect(bulwark.stream(ask, { signal: controller.signal }));
    await clock.advance(10);
    controller.abort();
    const { error } = await consuming;
    expect(error?.code).toBe('aborted');
    expect(clock.pending()).toBe(0);
  });
});

describe('retry: configuration', () => {
  it('names the bad option', () => {
    expect(() => createRetry({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => createRetry({ maxAttempts: 1.5 })).toThrow(/maxAttempts/);
    expect(() => createRetry({ baseDelayMs: -1 })).toThrow(/baseDelayMs/);
    expect(() => createRetry({ jitter: 'wild' as never })).toThrow(/jitter/);
    expect(() => createRetry({ budget: { ratio: -0.1 } })).toThrow(/budget\.ratio/);
  });

  it('is a reentrant target-level middleware in the retry stage', () => {
    const retry = createRetry();
    expect(retry).toMatchObject({
      specificationVersion: 'v1',
      name: 'retry',
      stage: 'retry',
      reentrant: true,
    });
  });

  it('uses a shared budget instance across targets when given one', async () => {
    const clock = createVirtualClock();
    const budget = createRetryBudget({ clock, maxTokens: 2, minPerSecond: 0 });
    const primary = createMockProvider({ name: 'primary', clock, failureRate: 1 });
    const secondary = createMockProvider({ name: 'secondary', clock, script: ['server_error'] });
    const bulwark = createBulwark({
      providers: [primary, secondary],
      models: {
        smart: [
          { provider: 'primary', model: 'a' },
          { provider: 'secondary', model: 'b' },
        ],
      },
      middleware: [createRetry({ budget, random: () => 0 })],
      clock,
    });
    const result = await outcome(clock.run(bulwark.chat(ask)));
    expect(result.error?.code).toBe('server_error');
    // The primary spent both tokens, so the secondary was not retried.
    expect(primary.callCount).toBe(3);
    expect(secondary.callCount).toBe(1);
  });
});

describe('retry: the backoff keeps the process alive', () => {
  it('sleeps on a ref’d timer while the call deadline’s timer stays unref’d', async () => {
    const { clock, bulwark } = scenario([createRetry({ baseDelayMs: 1000, random: () => 0.5 })], {
      primary: { script: ['server_error', 'ok'] },
    });
    const call = bulwark.chat(ask, { timeoutMs: 60_000 });
    await clock.advance(0);
    // The backoff is what the call waits on: it must hold a real process open. The deadline only bounds it.
    expect(clock.pending({ ref: true })).toBe(1);
    expect(clock.pending({ ref: false })).toBe(1);
    const response = await clock.run(call);
    expect(response.attempts.map((attempt) => attempt.error)).toEqual(['server_error', undefined]);
    expect(clock.pending()).toBe(0);
  });
});
