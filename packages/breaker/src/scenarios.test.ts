import {
  type Bulwark,
  type BulwarkEventMap,
  createBulwark,
  createEventBus,
  createVirtualClock,
  type MiddlewareV1,
  type VirtualClock,
} from '@bulwark/core';
import { createMockProvider, type MockProvider, type MockProviderOptions } from '@bulwark/provider-mock';
import { createRetry } from '@bulwark/retry';
import { describe, expect, it } from 'vitest';
import { type CircuitBreakerOptions, createCircuitBreaker } from './circuit-breaker.js';

/**
 * Scenarios in virtual time through `createBulwark`, the default fallback router and the mock
 * provider: what a user of the breaker sees end to end.
 */

const request = {
  model: 'chat',
  messages: [{ role: 'user' as const, content: 'What is a circuit breaker?' }],
};

type MockSpec = Omit<MockProviderOptions, 'clock' | 'name'>;

function world(options: {
  breaker: CircuitBreakerOptions;
  primary: MockSpec;
  backup?: MockSpec;
  retry?: boolean;
}) {
  const clock = createVirtualClock();
  const events = createEventBus();
  const transitions: Array<BulwarkEventMap['breaker:state'] & { at: number }> = [];
  events.on('breaker:state', (event) => transitions.push({ ...event, at: clock.now() }));
  const primary = createMockProvider({ ...options.primary, name: 'primary', clock });
  const providers: MockProvider[] = [primary];
  const targets = [{ provider: 'primary', model: 'model-p' }];
  let backup: MockProvider | undefined;
  if (options.backup) {
    backup = createMockProvider({ ...options.backup, name: 'backup', clock });
    providers.push(backup);
    targets.push({ provider: 'backup', model: 'model-b' });
  }
  const breaker = createCircuitBreaker(options.breaker);
  const middleware: MiddlewareV1[] = [];
  if (options.retry) middleware.push(createRetry({ maxAttempts: 3, baseDelayMs: 100, random: () => 0.5 }));
  middleware.push(breaker);
  const bulwark = createBulwark({ providers, models: { chat: targets }, middleware, clock, events });
  return { clock, events, transitions, primary, backup, breaker, bulwark };
}

async function answer(bulwark: Bulwark): Promise<string> {
  try {
    return (await bulwark.chat(request)).provider;
  } catch (error) {
    return (error as { code: string }).code;
  }
}

/** `count` callers, one every `everyMs`, each waiting for its answer; returns the answers in order. */
async function traffic(
  clock: VirtualClock,
  bulwark: Bulwark,
  count: number,
  everyMs: number,
): Promise<string[]> {
  return clock.run(
    Promise.all(
      Array.from({ length: count }, async (_, index) => {
        if (index > 0) await clock.sleep(index * everyMs);
        return answer(bulwark);
      }),
    ),
  );
}

describe('breaker scenarios (virtual time, mock provider)', () => {
  it('trips on consecutive failures and stops sending traffic to the failing provider', async () => {
    const { clock, bulwark, primary, transitions } = world({
      breaker: { failureThreshold: 5, cooldownMs: 30_000 },
      primary: { windows: [{ fromMs: 0, toMs: 1e9, error: 'server_error', status: 503 }] },
    });
    const answers = await traffic(clock, bulwark, 20, 100);
    expect(answers.slice(0, 5)).toEqual(Array(5).fill('server_error'));
    expect(answers.slice(5)).toEqual(Array(15).fill('breaker_open'));
    expect(primary.callCount).toBe(5);
    expect(transitions).toEqual([expect.objectContaining({ to: 'open', reason: 'consecutive', at: 400 })]);
  });

  it('trips on the failure ratio of a flaky provider once the minimum number of calls is reached', async () => {
    const { clock, bulwark, primary, transitions } = world({
      breaker: { failureThreshold: 0, failureRatio: 0.5, minimumCalls: 20, windowMs: 10_000 },
      primary: { failureRate: 0.6, seed: 11 },
    });
    await traffic(clock, bulwark, 100, 50);
    expect(transitions[0]).toMatchObject({ to: 'open', reason: 'ratio' });
    const beforeTrip = primary.calls.filter((call) => call.startedAt <= transitions[0]!.at);
    expect(beforeTrip.length).toBeGreaterThanOrEqual(20);
    const failed = beforeTrip.filter((call) => call.outcome === 'error').length;
    expect(failed / beforeTrip.length).toBeGreaterThanOrEqual(0.5);
  });

  it('does not trip below the minimum number of calls, however bad the ratio', async () => {
    const { clock, bulwark, primary, transitions } = world({
      breaker: { failureThreshold: 0, failureRatio: 0.5, minimumCalls: 10, windowMs: 1000 },
      primary: { windows: [{ fromMs: 0, toMs: 1e9, error: 'overloaded' }] },
    });
    // 8 failures per second: the window (1 s, plus at most one 100 ms bucket) never holds 10 calls.
    const answers = await traffic(clock, bulwark, 40, 125);
    expect(transitions).toEqual([]);
    expect(answers.every((result) => result === 'overloaded')).toBe(true);
    expect(primary.callCount).toBe(40);
  });

  it('admits exactly one probe among 50 concurrent callers in half-open', async () => {
    const { clock, bulwark, primary, transitions } = world({
      breaker: { failureThreshold: 1, cooldownMs: 5000 },
      primary: { script: ['server_error'], latencyMs: 800 },
    });
    expect(await clock.run(answer(bulwark))).toBe('server_error');
    await clock.advance(5000);
    const answers = await clock.run(Promise.all(Array.from({ length: 50 }, () => answer(bulwark))));
    expect(primary.callCount).toBe(2);
    expect(answers.filter((result) => result === 'primary')).toHaveLength(1);
    expect(answers.filter((result) => result === 'breaker_open')).toHaveLength(49);
    expect(transitions.map((transition) => transition.to)).toEqual(['open', 'half-open', 'closed']);
  });

  it('re-opens after failed probes with a growing, capped cooldown, then closes on recovery', async () => {
    const { clock, bulwark, primary, transitions } = world({
      breaker: { failureThreshold: 3, cooldownMs: 1000, maxCooldownMs: 8000 },
      primary: { windows: [{ fromMs: 0, toMs: 30_000, error: 'server_error' }] },
    });
    await traffic(clock, bulwark, 600, 100);
    const opens = transitions
      .filter((transition) => transition.to === 'open')
      .map((transition) => transition.at);
    const gaps = opens.slice(1).map((at, index) => at - opens[index]!);
    expect(gaps).toEqual([1000, 2000, 4000, 8000, 8000]);
    // The provider recovers at 30 s; the probe due at 23.2 s + 8 s finds it healthy.
    expect(transitions.at(-1)).toMatchObject({ to: 'closed', at: 31_200 });
    // While the provider was down it saw the 3 trip calls and one probe per cooldown, nothing else.
    expect(primary.calls.filter((call) => call.startedAt < 30_000)).toHaveLength(3 + 5);
  });

  it('skips an open target at once: the backup answers in zero virtual time, the primary is not called', async () => {
    const { clock, bulwark, primary, backup } = world({
      breaker: { failureThreshold: 2, cooldownMs: 60_000 },
      primary: { windows: [{ fromMs: 0, toMs: 1e9, error: 'connection_error' }], latencyMs: 300 },
      backup: { latencyMs: 0 },
    });
    await traffic(clock, bulwark, 2, 1000);
    expect(primary.callCount).toBe(2);
    const before = clock.now();
    const response = await bulwark.chat(request);
    expect(response.provider).toBe('backup');
    expect(clock.now()).toBe(before);
    expect(primary.callCount).toBe(2);
    expect(backup!.callCount).toBe(3);
    expect(response.attempts[0]).toMatchObject({
      provider: 'primary',
      error: 'breaker_open',
      local: true,
      durationMs: 0,
    });
  });

  it('sits inside retry: a persistent 503 opens the breaker during the first call, the next call falls back without a provider call', async () => {
    const { clock, bulwark, primary, backup, transitions } = world({
      breaker: { failureThreshold: 3, cooldownMs: 60_000 },
      primary: { windows: [{ fromMs: 0, toMs: 1e9, error: 'server_error', status: 503 }] },
      backup: {},
      retry: true,
    });
    expect(await clock.run(answer(bulwark))).toBe('backup');
    expect(primary.callCount).toBe(3);
    expect(transitions).toHaveLength(1);
    expect(await clock.run(answer(bulwark))).toBe('backup');
    expect(primary.callCount).toBe(3);
    expect(backup!.callCount).toBe(2);
  });

  it('never trips on invalid requests, quota-free rate limits (when not counted) or caller aborts', async () => {
    const { clock, bulwark, transitions, primary } = world({
      breaker: { failureThreshold: 2, countRateLimits: false },
      primary: {
        script: [
          'invalid_request',
          'invalid_request',
          'rate_limited',
          'rate_limited',
          'not_found',
          'content_filtered',
          { hang: true },
          { hang: true },
        ],
      },
    });
    for (let index = 0; index < 6; index += 1) await clock.run(answer(bulwark));
    for (let index = 0; index < 2; index += 1) {
      const controller = new AbortController();
      const pending = bulwark.chat(request, { signal: controller.signal }).catch(() => undefined);
      await clock.advance(10);
      controller.abort();
      await pending;
    }
    expect(primary.callCount).toBe(8);
    expect(transitions).toEqual([]);
  });

  it('counts a stream cut after content as a failure of the target', async () => {
    const { clock, bulwark, transitions } = world({
      breaker: { failureThreshold: 2 },
      primary: { script: [{ streamCutAfter: 1 }, { streamCutAfter: 2 }], chunkSize: 4 },
    });
    for (let index = 0; index < 2; index += 1) {
      const seen: string[] = [];
      const error = await clock.run(
        (async () => {
          for await (const event of bulwark.stream(request)) seen.push(event.type);
        })().catch((thrown: unknown) => thrown),
      );
      expect(error).toMatchObject({ code: 'stream_interrupted' });
      expect(seen).toContain('text-delta');
    }
    expect(transitions.map((transition) => transition.reason)).toEqual(['consecutive']);
  });

  it('sends traffic back to the primary once it recovers (primary down, then recovering)', async () => {
    const { clock, bulwark, primary, backup } = world({
      breaker: { failureThreshold: 3, cooldownMs: 2000 },
      primary: { windows: [{ fromMs: 0, toMs: 10_000, error: 'overloaded' }] },
      backup: {},
    });
    const answers = await traffic(clock, bulwark, 200, 100);
    expect(answers.every((result) => result === 'primary' || result === 'backup')).toBe(true);
    const lateAnswers = answers.slice(110);
    expect(lateAnswers.every((result) => result === 'primary')).toBe(true);
    const duringOutage = primary.calls.filter((call) => call.startedAt < 10_000).length;
    expect(duringOutage).toBe(3 + 4);
    expect(backup!.callCount).toBe(answers.filter((result) => result === 'backup').length);
  });
});
