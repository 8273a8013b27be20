import {
  AbortedError,
  type Bulwark,
  type ChatRequest,
  ConfigError,
  createBulwark,
  createEventBus,
  createVirtualClock,
  RateLimitError,
  ServerError,
} from '@bulwark/core';
import { createScriptedProvider, type ScriptedStep, usage } from '@bulwark/testkit/scenarios';
import { describe, expect, it } from 'vitest';
import { createRateLimiter, type RateLimiterOptions } from './rate-limiter.js';

/** The scripted provider as the limiter tests use it: `main` with two models, answering `ok`, latency after `start`. */
const limiterTestProvider = {
  models: ['model-a', 'model-b'],
  text: 'ok',
  streamLatency: 'after-start',
} as const;

function setup(
  options: Partial<RateLimiterOptions> = {},
  script: (request: ChatRequest, index: number) => ScriptedStep = () => ({}),
) {
  const clock = createVirtualClock();
  const events = createEventBus();
  const provider = createScriptedProvider({ ...limiterTestProvider, script });
  const limiter = createRateLimiter({ limits: { main: { rpm: 600 } }, clock, ...options });
  const bulwark = createBulwark({ providers: [provider], middleware: [limiter], clock, events });
  return { clock, events, provider, limiter, bulwark };
}

function request(text = 'hello', maxTokens = 100, model = 'main/model-a'): ChatRequest {
  return { model, messages: [{ role: 'user', content: text }], maxTokens };
}

const ask = (
  bulwark: Bulwark,
  text?: string,
  options: Parameters<Bulwark['chat']>[1] = {},
  maxTokens?: number,
) => bulwark.chat(request(text, maxTokens), options);

/** Resolves with the error (if any) and the clock time the call settled. */
const outcome = (promise: Promise<unknown>, clock: { now(): number }) =>
  promise.then(
    () => ({ caught: undefined as unknown, at: clock.now() }),
    (caught: unknown) => ({ caught, at: clock.now() }),
  );

const textOf = (entry: { request: ChatRequest }) => entry.request.messages[0]!.content as string;

describe('createRateLimiter: pacing', () => {
  it('lets one second of burst through, then one call per emission interval', async () => {
    const { clock, bulwark, provider } = setup();
    await clock.run(Promise.all(Array.from({ length: 15 }, () => ask(bulwark))));
    const starts = provider.starts.map((entry) => entry.at);
    expect(starts.slice(0, 10)).toEqual(new Array(10).fill(0));
    expect(starts.slice(10)).toEqual([100, 200, 300, 400, 500]);
  });

  it('keeps scopes apart: provider+model by default, shared with scope provider', async () => {
    const limits = { main: { rpm: 60, requestBurst: 1 } };
    const perModel = setup({ limits });
    await perModel.clock.run(
      Promise.all([
        perModel.bulwark.chat(request('a')),
        perModel.bulwark.chat(request('b', 100, 'main/model-b')),
      ]),
    );
    expect(perModel.provider.starts.map((entry) => entry.at)).toEqual([0, 0]);

    const shared = setup({ limits, scope: 'provider' });
    await shared.clock.run(
      Promise.all([
        shared.bulwark.chat(request('a')),
        shared.bulwark.chat(request('b', 100, 'main/model-b')),
      ]),
    );
    expect(shared.provider.starts.map((entry) => entry.at)).toEqual([0, 1000]);
  });

  it('passes targets without limits straight through', async () => {
    const { clock, bulwark, provider, limiter } = setup({ limits: { other: { rpm: 1 } } });
    await clock.run(Promise.all(Array.from({ length: 5 }, () => ask(bulwark))));
    expect(provider.starts.map((entry) => entry.at)).toEqual([0, 0, 0, 0, 0]);
    expect(limiter.stats().targets).toEqual([]);
  });
});

describe('createRateLimiter: queue', () => {
  it('serves higher priorities first and FIFO within a priority', async () => {
    const { clock, bulwark, provider } = setup({ limits: { main: { rpm: 60, requestBurst: 1 } } });
    const calls = [
      ask(bulwark, 'first'),
      ask(bulwark, 'a', { metadata: { priority: 5 } }),
      ask(bulwark, 'b', { metadata: { priority: 0 } }),
      ask(bulwark, 'c', { metadata: { priority: 9 } }),
      ask(bulwark, 'd', { metadata: { priority: 5 } }),
      ask(bulwark, 'e'),
    ];
    await clock.run(Promise.all(calls));
    expect(provider.starts.map(textOf)).toEqual(['first', 'c', 'a', 'd', 'b', 'e']);
    expect(provider.starts.map((entry) => entry.at)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
  });

  it('rejects at once when the expected wait exceeds the maximum wait or the deadline', async () => {
    const { clock, bulwark, provider, limiter } = setup({
      limits: { main: { rpm: 60, requestBurst: 1 } },
      maxWaitMs: 2500,
    });
    const admitted = [ask(bulwark, '1'), ask(bulwark, '2'), ask(bulwark, '3')];
    const error = await ask(bulwark, '4').catch((caught: unknown) => caught);
    expect(RateLimitError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ local: true, scope: 'limiter', retryAfterMs: 3000, retryable: true });
    const deadline = await ask(bulwark, '5', { timeoutMs: 500 }).catch((caught: unknown) => caught);
    expect(deadline).toMatchObject({ code: 'rate_limited', local: true, retryAfterMs: 3000 });
    await clock.run(Promise.all(admitted));
    expect(provider.starts.map((entry) => entry.at)).toEqual([0, 1000, 2000]);
    expect(limiter.stats()).toMatchObject({ admitted: 3, rejected: 2, queueLength: 0 });
    expect(clock.pending()).toBe(0);
  });

  it('fails a waiter whose maximum wait expires, with a retry-after estimate', async () => {
    const { clock, bulwark } = setup(
      { limits: { main: { concurrency: 1 } }, maxWaitMs: 2500 },
      (_request, index) => (index === 0 ? { latencyMs: 10_000 } : {}),
    );
    const first = ask(bulwark, 'slow');
    const second = outcome(ask(bulwark, 'waits'), clock);
    const settled = await clock.run(second);
    expect(settled.at).toBe(2500);
    expect(settled.caught).toMatchObject({ code: 'rate_limited', local: true });
    expect((settled.caught as RateLimitError).retryAfterMs).toBeGreaterThanOrEqual(0);
    await clock.run(first);
    expect(clock.pending()).toBe(0);
  });

  it('refuses the caller that would overflow the queue', async () => {
    const { clock, bulwark, events } = setup({ limits: { main: { rpm: 60, requestBurst: 1 } }, maxQueue: 2 });
    const rejects: unknown[] = [];
    events.on('limiter:reject', (payload) => rejects.push(payload));
    const calls = [ask(bulwark), ask(bulwark), ask(bulwark)];
    const error = await ask(bulwark).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'rate_limited', local: true, scope: 'limiter', retryAfterMs: 3000 });
    expect(rejects).toEqual([
      expect.objectContaining({
        provider: 'main',
        model: 'model-a',
        reason: 'queue-full',
        retryAfterMs: 3000,
      }),
    ]);
    await clock.run(Promise.all(calls));
  });

  it('removes an aborted waiter at once and leaves no gap or timer behind (T-RL8)', async () => {
    const { clock, bulwark, provider, limiter } = setup({ limits: { main: { rpm: 60, requestBurst: 1 } } });
    const controller = new AbortController();
    const a = ask(bulwark, 'A');
    const b = ask(bulwark, 'B');
    const c = outcome(ask(bulwark, 'C', { signal: controller.signal }), clock);
    const d = ask(bulwark, 'D');
    await clock.advance(10);
    expect(limiter.stats().queueLength).toBe(3);
    controller.abort();
    const aborted = await c;
    expect(AbortedError.isInstance(aborted.caught)).toBe(true);
    expect(aborted.at).toBe(10);
    expect(limiter.stats().queueLength).toBe(2);
    await clock.run(Promise.all([a, b, d]));
    expect(provider.starts.map((entry) => [textOf(entry), entry.at])).toEqual([
      ['A', 0],
      ['B', 1000],
      ['D', 2000],
    ]);
    expect(clock.pending()).toBe(0);
  });

  it('leaves nothing behind when every waiter aborts', async () => {
    const { clock, bulwark, limiter } = setup({ limits: { main: { rpm: 60, requestBurst: 1 } } });
    await clock.run(ask(bulwark));
    const controller = new AbortController();
    const waiting = Array.from({ length: 5 }, () =>
      ask(bulwark, 'x', { signal: controller.signal }).catch((caught: unknown) => caught),
    );
    await clock.advance(1);
    expect(clock.pending()).toBeGreaterThan(0);
    controller.abort();
    const errors = await Promise.all(waiting);
    expect(errors.every((error) => AbortedError.isInstance(error))).toBe(true);
    expect(clock.pending()).toBe(0);
    expect(limiter.stats()).toMatchObject({ queueLength: 0, inFlight: 0 });
  });

  it('emits limiter:wait with the time waited', async () => {
    const { clock, bulwark, events } = setup({ limits: { main: { rpm: 60, requestBurst: 1 } } });
    const waits: Array<{ waitedMs: number; queueLength: number }> = [];
    events.on('limiter:wait', (payload) => waits.push(payload));
    await clock.run(Promise.all([ask(bulwark), ask(bulwark), ask(bulwark)]));
    expect(waits.map((wait) => [wait.waitedMs, wait.queueLength])).toEqual([
      [1000, 1],
      [2000, 0],
    ]);
  });

  it('releases concurrency permits on every path (success, error, abort, timeout, broken stream)', async () => {
    const { clock, bulwark, provider, limiter } = setup(
      { limits: { main: { concurrency: 2 } } },
      (_request, index) => {
        const kind = index % 4;
        if (kind === 1) return { latencyMs: 5, error: new ServerError({ status: 500 }) };
        if (kind === 2) return { latencyMs: 50 };
        return { latencyMs: 5 + (index % 7) };
      },
    );
    const calls: Promise<unknown>[] = [];
    for (let index = 0; index < 200; index += 1) {
      if (index % 5 === 0) {
        calls.push(
          (async () => {
            for await (const event of bulwark.stream(request(`s${index}`))) {
              if (event.type === 'text-delta') break;
            }
          })().catch(() => {}),
        );
      } else if (index % 5 === 1) {
        calls.push(ask(bulwark, `t${index}`, { timeoutMs: 20 }).catch(() => {}));
      } else {
        calls.push(ask(bulwark, `c${index}`).catch(() => {}));
      }
    }
    await clock.run(Promise.all(calls));
    expect(provider.maxInFlight).toBeLessThanOrEqual(2);
    expect(limiter.stats()).toMatchObject({ inFlight: 0, queueLength: 0 });
    expect(clock.pending()).toBe(0);
  });
});

describe('createRateLimiter: tokens', () => {
  // 'hello' estimates at 3 + 3 + 2 = 8 input tokens.
  it('reserves input estimate + maxTokens and refunds the unused part after the call', async () => {
    const { clock, bulwark, provider, limiter } = setup(
      { limits: { main: { tpm: 60_000 } } },
      (_request, index) => (index === 0 ? { usage: usage(9, 41) } : {}),
    );
    await clock.run(ask(bulwark, 'hello', {}, 500));
    // 1000 token burst: 50 used, so 950 are free again and a 908-token reservation goes at once.
    await clock.run(ask(bulwark, 'hello', {}, 900));
    expect(provider.starts.map((entry) => entry.at)).toEqual([0, 0]);
    expect(limiter.stats()).toMatchObject({ tokensReserved: 508 + 908, tokensUsed: 50 });
  });

  it('charges usage above the reservation', async () => {
    const { clock, bulwark, provider } = setup({ limits: { main: { tpm: 60_000 } } }, (_request, index) =>
      index === 0 ? { usage: usage(1000, 1000) } : {},
    );
    await clock.run(ask(bulwark, 'hello', {}, 500));
    await clock.run(ask(bulwark, 'hello', {}, 100));
    // 2000 used against a 1000 burst at 1 token/ms: the next 108 tokens go after 2000 + 108 − 1000 ms.
    expect(provider.starts.map((entry) => entry.at)).toEqual([0, 1108]);
  });

  it('without correction the reservation stands (no usage reported)', async () => {
    const { clock, bulwark, provider } = setup({ limits: { main: { tpm: 60_000 } } });
    await clock.run(ask(bulwark, 'hello', {}, 500));
    await clock.run(ask(bulwark, 'hello', {}, 900));
    expect(provider.starts.map((entry) => entry.at)).toEqual([0, 416]);
  });

  it('corrects streams from the usage event and keeps the reservation of an aborted stream', async () => {
    const { clock, bulwark, provider, limiter } = setup({ limits: { main: { tpm: 60_000 } } }, () => ({
      usage: usage(9, 41),
    }));
    const consume = async (text: string, maxTokens: number, stopEarly: boolean) => {
      for await (const event of bulwark.stream(request(text, maxTokens))) {
        if (stopEarly && event.type === 'text-delta') break;
      }
    };
    await clock.run(consume('hello', 500, false));
    await clock.run(consume('hello', 900, true));
    expect(provider.starts.map((entry) => entry.at)).toEqual([0, 0]);
    // The aborted stream keeps its 908 tokens: 50 + 908 used of 1000, so 108 more wait 66 ms.
    await clock.run(consume('hello', 100, false));
    expect(provider.starts.map((entry) => entry.at)).toEqual([0, 0, 66]);
    expect(limiter.stats()).toMatchObject({ tokensUsed: 100, inFlight: 0 });
  });

  it('refunds the output reservation when the provider refuses before generating', async () => {
    const { clock, bulwark, provider } = setup({ limits: { main: { tpm: 60_000 } } }, (_request, index) =>
      index === 0 ? { error: new ServerError({ status: 400, retryable: false, fallbackable: false }) } : {},
    );
    await clock.run(ask(bulwark, 'hello', {}, 900).catch(() => {}));
    await clock.run(ask(bulwark, 'hello', {}, 900));
    // Only the 8 input tokens stay charged: 8 + 908 fit the 1000 burst.
    expect(provider.starts.map((entry) => entry.at)).toEqual([0, 0]);
  });
});

describe('createRateLimiter: adaptive', () => {
  it('slows down to the allowance the provider reports (remaining/reset)', async () => {
    const { clock, bulwark, provider } = setup({}, (_request, index) =>
      index === 0 ? { rateLimit: { limitRequests: 60, remainingRequests: 1, resetRequestsMs: 59_000 } } : {},
    );
    await clock.run(ask(bulwark));
    await clock.run(Promise.all([ask(bulwark), ask(bulwark), ask(bulwark)]));
    // Locally 9 more could go now; the provider has 1 left and refills one per second.
    expect(provider.starts.map((entry) => entry.at)).toEqual([0, 0, 1000, 2000]);
  });

  it('ignores placeholder and higher-than-local header values', async () => {
    const { clock, bulwark, provider } = setup({}, (_request, index) => {
      if (index === 0)
        return { rateLimit: { limitRequests: 0, remainingRequests: 0, resetRequestsMs: 1000 } };
      if (index === 1) return { rateLimit: { remainingRequests: -1, resetRequestsMs: 1000 } };
      if (index === 2)
        return { rateLimit: { limitRequests: 100_000, remainingRequests: 99_999, resetRequestsMs: 1 } };
      return {};
    });
    for (let index = 0; index < 3; index += 1) await clock.run(ask(bulwark));
    await clock.run(Promise.all(Array.from({ length: 7 }, () => ask(bulwark))));
    expect(provider.starts.map((entry) => entry.at)).toEqual(new Array(10).fill(0));
  });

  it('pauses the scope after a 429 until retry-after, then releases the backlog at the steady pace', async () => {
    const { clock, bulwark, provider, limiter, events } = setup({}, (_request, index) =>
      index === 0 ? { latencyMs: 10, error: new RateLimitError({ status: 429, retryAfterMs: 3000 }) } : {},
    );
    const pauses: unknown[] = [];
    events.on('limiter:pause', (payload) => pauses.push(payload));
    const refused = ask(bulwark, 'refused').catch((caught: unknown) => caught);
    await clock.advance(10);
    expect(await refused).toMatchObject({ code: 'rate_limited', local: false });
    const backlog = Array.from({ length: 5 }, (_, index) => ask(bulwark, `q${index}`));
    const otherModel = bulwark.chat(request('other', 100, 'main/model-b'));
    await clock.run(Promise.all([...backlog, otherModel]));
    const starts = provider.starts.map((entry) => [textOf(entry), entry.at]);
    expect(starts).toEqual([
      ['refused', 0],
      ['other', 10],
      ['q0', 3110],
      ['q1', 3210],
      ['q2', 3310],
      ['q3', 3410],
      ['q4', 3510],
    ]);
    expect(pauses).toEqual([expect.objectContaining({ key: 'main/model-a', durationMs: 3000 })]);
    expect(limiter.stats()).toMatchObject({ rateLimited: 1 });
  });

  it('does not pause for a spent quota', async () => {
    const { clock, bulwark, provider } = setup({}, (_request, index) =>
      index === 0 ? { error: new RateLimitError({ status: 429, scope: 'quota', retryAfterMs: 60_000 }) } : {},
    );
    await clock.run(ask(bulwark).catch(() => {}));
    await clock.run(ask(bulwark));
    expect(provider.starts.map((entry) => entry.at)).toEqual([0, 0]);
  });
});

describe('createRateLimiter: configuration', () => {
  it('names the bad field', () => {
    expect(() => createRateLimiter({ limits: { main: { rpm: -1 } } })).toThrow(ConfigError);
    expect(() => createRateLimiter({ limits: { main: { rpm: -1 } } })).toThrow(/limits\.main\.rpm/);
    expect(() => createRateLimiter({ limits: { main: { concurrency: 1.5 } } })).toThrow(
      /limits\.main\.concurrency/,
    );
    expect(() => createRateLimiter({ limits: {}, maxQueue: 0 })).toThrow(/maxQueue/);
  });

  it('asks a limits function once per scope key', async () => {
    const asked: string[] = [];
    const { clock, bulwark, provider } = setup({
      limits: (target) => {
        asked.push(`${target.provider}/${target.model}`);
        return target.model === 'model-a' ? { rpm: 60, requestBurst: 1 } : undefined;
      },
    });
    await clock.run(
      Promise.all([ask(bulwark), ask(bulwark), bulwark.chat(request('b', 100, 'main/model-b'))]),
    );
    expect(asked).toEqual(['main/model-a', 'main/model-b']);
    expect(provider.starts.map((entry) => entry.at).sort((a, b) => a - b)).toEqual([0, 0, 1000]);
  });

  it('close rejects waiters and cancels timers', async () => {
    const { clock, bulwark, limiter } = setup({ limits: { main: { rpm: 60, requestBurst: 1 } } });
    await clock.run(ask(bulwark));
    const waiting = ask(bulwark).catch((caught: unknown) => caught);
    await clock.advance(1);
    await limiter.close();
    expect(AbortedError.isInstance(await waiting)).toBe(true);
    expect(clock.pending()).toBe(0);
  });
});

describe('createRateLimiter: what holds a process open', () => {
  it('a queued call waits on ref’d timers; nothing is left once the queue is empty', async () => {
    const { clock, bulwark } = setup({ limits: { main: { rpm: 60, requestBurst: 1 } } });
    const first = ask(bulwark, 'first');
    const second = ask(bulwark, 'second');
    await clock.advance(0);
    // The second call waits for the refill (the pump) and its maximum wait: both belong to a call in flight.
    expect(clock.pending({ ref: true })).toBe(2);
    expect(clock.pending({ ref: false })).toBe(0);
    await clock.run(Promise.all([first, second]));
    expect(clock.now()).toBe(1000);
    expect(clock.pending()).toBe(0);
  });
});
