import { collectStream, createBulwark, createFallbackRouter, type StreamEvent } from '@bulwark/core';
import { createMockProvider, createSeededRandom } from '@bulwark/provider-mock';
import { createScenario, outcome, userRequest } from '@bulwark/testkit/scenarios';
import { describe, expect, it } from 'vitest';
import { createRetry } from './retry-policy.js';

const ask = userRequest('What is a circuit breaker?');
const scenario = createScenario(createMockProvider);

const trailOf = (attempts: ReadonlyArray<{ provider: string; error?: string }>) =>
  attempts.map((attempt) => `${attempt.provider}:${attempt.error ?? 'ok'}`);

describe('fallback routing with retry (virtual time, mock providers)', () => {
  it('exhausts retries on the primary, then the secondary answers; the response carries the whole trail', async () => {
    const { clock, bulwark, eventsNamed } = scenario([createRetry({ random: () => 0 })], {
      primary: { failureRate: 1, failureError: { error: 'server_error', status: 502 }, latencyMs: 50 },
      secondary: { latencyMs: 80 },
    });
    const response = await clock.run(bulwark.chat(ask));
    expect(response.provider).toBe('secondary');
    expect(trailOf(response.attempts)).toEqual([
      'primary:server_error',
      'primary:server_error',
      'primary:server_error',
      'secondary:ok',
    ]);
    expect(response.attempts.map((attempt) => attempt.durationMs)).toEqual([50, 50, 50, 80]);
    expect(response.attempts[0]!.status).toBe(502);
    expect(eventsNamed('fallback:taken')).toHaveLength(1);
  });

  it('falls back at once, without retrying, on an error only another target can fix (401)', async () => {
    const { clock, bulwark, mocks } = scenario([createRetry()], {
      primary: { script: ['authentication'] },
      secondary: {},
    });
    const response = await clock.run(bulwark.chat(ask));
    expect(response.provider).toBe('secondary');
    expect(mocks.primary!.callCount).toBe(1);
    expect(clock.now()).toBe(0);
  });

  it('neither retries nor falls back on an invalid request', async () => {
    const { clock, bulwark, mocks } = scenario([createRetry()], {
      primary: { script: ['invalid_request'] },
      secondary: {},
    });
    const result = await outcome(clock.run(bulwark.chat(ask)));
    expect(result.error?.code).toBe('invalid_request');
    expect(mocks.secondary!.callCount).toBe(0);
  });

  it('after a context-length error skips targets whose window is no larger and goes to a larger one', async () => {
    const { clock, bulwark, mocks } = scenario(
      [createRetry()],
      { small: { maxContextTokens: 4 }, same: { maxContextTokens: 4 }, large: { maxContextTokens: 200_000 } },
      {
        alias: [
          { provider: 'small', model: 'small-model', maxContextTokens: 4 },
          { provider: 'same', model: 'same-model', maxContextTokens: 4 },
          { provider: 'large', model: 'large-model', maxContextTokens: 200_000 },
        ],
      },
    );
    const response = await clock.run(bulwark.chat(ask));
    expect(response.provider).toBe('large');
    expect(mocks.small!.callCount).toBe(1);
    expect(mocks.same!.callCount).toBe(0);
  });

  it('raises the most useful error when every target fails: the rate limit with the smallest retry-after', async () => {
    const { clock, bulwark } = scenario([createRetry({ random: () => 0, retryAfterCapMs: 1000 })], {
      primary: { failureRate: 1, failureError: { error: 'rate_limited', retryAfterMs: 30_000 } },
      secondary: { failureRate: 1, failureError: { error: 'rate_limited', retryAfterMs: 5000 } },
      tertiary: { failureRate: 1, failureError: 'connection_error' },
    });
    const result = await outcome(clock.run(bulwark.chat(ask)));
    expect(result.error).toMatchObject({ code: 'rate_limited', retryAfterMs: 5000, provider: 'secondary' });
    expect(trailOf(result.error.attempts)).toEqual([
      'primary:rate_limited',
      'secondary:rate_limited',
      'tertiary:connection_error',
      'tertiary:connection_error',
      'tertiary:connection_error',
    ]);
  });

  it('sends a content-filter refusal to the configured detour target', async () => {
    const { clock, bulwark, mocks } = scenario(
      [createRetry()],
      { primary: { script: ['content_filtered'] }, secondary: {}, lenient: {} },
      {
        alias: {
          targets: [
            { provider: 'primary', model: 'primary-model' },
            { provider: 'secondary', model: 'secondary-model' },
          ],
          contentFilterFallback: { provider: 'lenient', model: 'lenient-model' },
        },
      },
    );
    const response = await clock.run(bulwark.chat(ask));
    expect(response.provider).toBe('lenient');
    expect(mocks.secondary!.callCount).toBe(0);
  });

  it('shares load by weight among equal-priority targets', async () => {
    const { clock, mocks } = scenario(
      [createRetry()],
      { heavy: {}, light: {} },
      {
        alias: [
          { provider: 'heavy', model: 'heavy-model', priority: 0, weight: 3 },
          { provider: 'light', model: 'light-model', priority: 0, weight: 1 },
        ],
      },
    );
    const weighted = createBulwark({
      providers: mocks,
      models: {
        smart: [
          { provider: 'heavy', model: 'heavy-model', priority: 0, weight: 3 },
          { provider: 'light', model: 'light-model', priority: 0, weight: 1 },
        ],
      },
      routing: createFallbackRouter({ random: createSeededRandom(21) }),
      clock,
    });
    await clock.run(Promise.all(Array.from({ length: 2000 }, () => weighted.chat(ask))));
    const share = mocks.heavy!.callCount / 2000;
    expect(share).toBeGreaterThan(0.72);
    expect(share).toBeLessThan(0.78);
  });

  it('streams fall back before the first delta: the caller sees one start, from the target that answered', async () => {
    const { clock, bulwark, mocks } = scenario([createRetry({ random: () => 0, maxAttempts: 2 })], {
      primary: { failureRate: 1, failureError: { streamErrorAfter: 0, error: 'overloaded' } },
      secondary: {},
    });
    const seen: StreamEvent[] = [];
    const response = await clock.run(
      collectStream(
        (async function* () {
          for await (const event of bulwark.stream(ask)) {
            seen.push(event);
            yield event;
          }
        })(),
      ),
    );
    expect(response.provider).toBe('secondary');
    expect(seen.filter((event) => event.type === 'start')).toEqual([
      expect.objectContaining({ provider: 'secondary' }),
    ]);
    expect(mocks.primary!.callCount).toBe(2);
  });

  it('a primary that is down then recovers: calls fall back during the outage and return after it', async () => {
    const { clock, bulwark, mocks } = scenario([createRetry({ random: () => 0, maxAttempts: 2 })], {
      primary: {
        windows: [{ fromMs: 1000, toMs: 3000, error: 'server_error', status: 503, name: 'outage' }],
        latencyMs: 10,
      },
      secondary: { latencyMs: 10 },
    });
    const answered: string[] = [];
    const calls = Array.from({ length: 40 }, (_, index) =>
      clock.sleep(index * 100).then(async () => {
        const response = await bulwark.chat(ask);
        answered[index] = response.provider;
      }),
    );
    await clock.run(Promise.all(calls));
    expect(answered.slice(0, 10).every((provider) => provider === 'primary')).toBe(true);
    expect(answered.slice(10, 30).every((provider) => provider === 'secondary')).toBe(true);
    expect(answered.slice(31).every((provider) => provider === 'primary')).toBe(true);
    // 20 calls during the outage, but the retry budget (10 tokens + 1/s) allowed only 11 of their 20 retries.
    expect(mocks.primary!.calls.filter((call) => call.window === 'outage')).toHaveLength(31);
  });
});
