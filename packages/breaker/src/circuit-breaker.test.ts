import {
  BreakerOpenError,
  BudgetExceededError,
  type BulwarkEventMap,
  ConfigError,
  createBulwark,
  createEventBus,
  createPluginRegistry,
  createVirtualClock,
  InvalidRequestError,
  RateLimitError,
  ServerError,
  TimeoutError,
  type VirtualClock,
} from '@bulwark/core';
import { createScriptedProvider, type ScriptedStep as Step } from '@bulwark/testkit/scenarios';
import { describe, expect, it } from 'vitest';
import { createMemoryBreakerStore } from './breaker-store.js';
import { type CircuitBreakerOptions, createCircuitBreaker } from './circuit-breaker.js';
import { plugin } from './plugin.js';

const request = { model: 'chat', messages: [{ role: 'user' as const, content: 'hello' }] };
const fail: Step = { error: () => new ServerError({ status: 503 }) };
const ok: Step = {};

function setup(options: CircuitBreakerOptions = {}, steps: Step[] = []) {
  const clock = createVirtualClock();
  const events = createEventBus();
  const transitions: Array<BulwarkEventMap['breaker:state']> = [];
  events.on('breaker:state', (payload) => transitions.push(payload));
  const provider = createScriptedProvider({ name: 'main', clock, steps });
  const breaker = createCircuitBreaker(options);
  const bulwark = createBulwark({
    providers: [provider],
    models: { chat: [{ provider: 'main', model: 'model-a' }] },
    middleware: [breaker],
    clock,
    events,
  });
  const call = () => bulwark.chat(request);
  const outcome = async (): Promise<string> => {
    try {
      await call();
      return 'ok';
    } catch (error) {
      return (error as { code: string }).code;
    }
  };
  return { clock, provider, breaker, bulwark, transitions, call, outcome };
}

async function runAll(clock: VirtualClock, count: number, make: () => Promise<string>): Promise<string[]> {
  return clock.run(Promise.all(Array.from({ length: count }, make)));
}

describe('createCircuitBreaker', () => {
  it('opens after N consecutive counted failures; a success resets the run', async () => {
    const { provider, outcome, transitions, breaker } = setup({ failureThreshold: 3, failureRatio: 0 }, [
      fail,
      fail,
      ok,
      fail,
      fail,
      fail,
    ]);
    const results: string[] = [];
    for (let index = 0; index < 7; index += 1) results.push(await outcome());
    expect(results).toEqual([
      'server_error',
      'server_error',
      'ok',
      'server_error',
      'server_error',
      'server_error',
      'breaker_open',
    ]);
    expect(provider.calls).toBe(6);
    expect(transitions).toEqual([
      { provider: 'main', model: 'model-a', from: 'closed', to: 'open', reason: 'consecutive' },
    ]);
    expect(await breaker.state({ provider: 'main', model: 'model-a' }, 0)).toBe('open');
  });

  it('rejects an open call with BreakerOpenError carrying the remaining cooldown, before any I/O', async () => {
    const { clock, provider, call } = setup({ failureThreshold: 1, cooldownMs: 10_000 }, [fail]);
    await expect(call()).rejects.toThrow();
    await clock.advance(4000);
    let settledBeforeIo = false;
    const pending = call().catch((error: unknown) => {
      settledBeforeIo = true;
      return error;
    });
    // Settles within the microtask queue: no timer, no macrotask (I/O) turn was needed.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(settledBeforeIo).toBe(true);
    const error = (await pending) as BreakerOpenError;
    expect(BreakerOpenError.isInstance(error)).toBe(true);
    expect(error.retryAfterMs).toBe(6000);
    expect(error.local).toBe(true);
    expect(error.attempts?.at(-1)).toMatchObject({ provider: 'main', error: 'breaker_open', local: true });
    expect(provider.calls).toBe(1);
  });

  it('respects the minimum number of calls before the ratio rule applies (≥ comparison)', async () => {
    const { outcome, provider, transitions } = setup(
      { failureThreshold: 0, failureRatio: 0.5, minimumCalls: 10, windowMs: 30_000 },
      [...Array(9).fill(fail), fail, ok],
    );
    const results: string[] = [];
    for (let index = 0; index < 9; index += 1) results.push(await outcome());
    expect(results.every((result) => result === 'server_error')).toBe(true);
    expect(transitions).toEqual([]);
    expect(await outcome()).toBe('server_error');
    expect(transitions.map((transition) => transition.reason)).toEqual(['ratio']);
    expect(await outcome()).toBe('breaker_open');
    expect(provider.calls).toBe(10);
  });

  it('opens on a ratio of exactly failureRatio, and not below it', async () => {
    const below = setup({ failureThreshold: 0, failureRatio: 0.5, minimumCalls: 10 }, [
      ...Array(6).fill(ok),
      ...Array(4).fill(fail),
    ]);
    for (let index = 0; index < 10; index += 1) await below.outcome();
    expect(below.transitions).toEqual([]);
    const at = setup({ failureThreshold: 0, failureRatio: 0.5, minimumCalls: 10 }, [
      ...Array(5).fill(ok),
      ...Array(5).fill(fail),
    ]);
    for (let index = 0; index < 10; index += 1) await at.outcome();
    expect(at.transitions.map((transition) => transition.to)).toEqual(['open']);
  });

  it('lets failures slide out of the window', async () => {
    const { clock, outcome, transitions } = setup(
      { failureThreshold: 0, failureRatio: 0.5, minimumCalls: 10, windowMs: 10_000, windowBuckets: 10 },
      [...Array(6).fill(fail), ...Array(9).fill(ok), fail],
    );
    for (let index = 0; index < 6; index += 1) await outcome();
    await clock.advance(11_000);
    for (let index = 0; index < 10; index += 1) await outcome();
    expect(transitions).toEqual([]);
  });

  it('never counts 400s, caller aborts, limiter or budget rejections and total timeouts', async () => {
    const errors = [
      () => new InvalidRequestError({ status: 400 }),
      () => new RateLimitError({ scope: 'limiter' }),
      () => new BudgetExceededError({ budget: 'daily' }),
      () => new BreakerOpenError(),
      () => new TimeoutError({ phase: 'total' }),
    ];
    const steps: Step[] = [];
    for (let round = 0; round < 20; round += 1) for (const error of errors) steps.push({ error });
    const { outcome, transitions, bulwark, clock, provider } = setup(
      { failureThreshold: 2, failureRatio: 0.1 },
      steps,
    );
    const total = steps.length;
    for (let index = 0; index < total; index += 1) await outcome();
    expect(provider.calls).toBe(total);
    for (let index = 0; index < 20; index += 1) {
      provider.steps.push({ hang: true });
      const controller = new AbortController();
      const pending = bulwark.chat(request, { signal: controller.signal }).catch((error: unknown) => error);
      await clock.advance(1);
      controller.abort();
      expect((await pending) as { code: string }).toMatchObject({ code: 'aborted' });
    }
    expect(transitions).toEqual([]);
  });

  it('counts provider rate limits by default and ignores them with countRateLimits: false', async () => {
    const limited: Step = { error: () => new RateLimitError({ status: 429 }) };
    const counting = setup({ failureThreshold: 2 }, [limited, limited]);
    await counting.outcome();
    await counting.outcome();
    expect(await counting.outcome()).toBe('breaker_open');
    const ignoring = setup({ failureThreshold: 2, countRateLimits: false }, [limited, limited, limited]);
    for (let index = 0; index < 3; index += 1) expect(await ignoring.outcome()).toBe('rate_limited');
    expect(ignoring.transitions).toEqual([]);
  });

  it('turns half-open lazily when the cooldown ends, exactly once', async () => {
    const { clock, call, transitions, provider } = setup({ failureThreshold: 1, cooldownMs: 15_000 }, [
      fail,
      ok,
    ]);
    await expect(call()).rejects.toThrow();
    await clock.advance(14_999);
    await expect(call()).rejects.toMatchObject({ code: 'breaker_open', retryAfterMs: 1 });
    await clock.advance(1);
    await expect(call()).resolves.toMatchObject({ provider: 'main' });
    expect(transitions.map(({ from, to, reason }) => `${from}>${to}:${reason}`)).toEqual([
      'closed>open:consecutive',
      'open>half-open:cooldown-elapsed',
      'half-open>closed:probes-succeeded',
    ]);
    expect(provider.calls).toBe(2);
    expect(clock.pending()).toBe(0);
  });

  it('admits exactly one probe among 50 concurrent callers in half-open', async () => {
    const { clock, provider, outcome, transitions } = setup({ failureThreshold: 1, cooldownMs: 1000 }, [
      fail,
      { latencyMs: 500 },
    ]);
    await outcome();
    await clock.advance(1000);
    const results = await runAll(clock, 50, outcome);
    expect(provider.calls).toBe(2);
    expect(results.filter((result) => result === 'ok')).toHaveLength(1);
    expect(results.filter((result) => result === 'breaker_open')).toHaveLength(49);
    expect(transitions.at(-1)).toMatchObject({ to: 'closed' });
    expect(await outcome()).toBe('ok');
  });

  it('admits exactly halfOpenProbes probes and closes only when all succeed', async () => {
    const { clock, provider, outcome, transitions } = setup(
      { failureThreshold: 1, cooldownMs: 1000, halfOpenProbes: 3 },
      [fail, { latencyMs: 100 }, { latencyMs: 200 }, { latencyMs: 300 }],
    );
    await outcome();
    await clock.advance(1000);
    const results = await runAll(clock, 20, outcome);
    expect(provider.calls).toBe(4);
    expect(results.filter((result) => result === 'ok')).toHaveLength(3);
    expect(transitions.map((transition) => transition.to)).toEqual(['open', 'half-open', 'closed']);
  });

  it('re-opens after a failed probe with a growing, capped cooldown; a close resets it', async () => {
    const { clock, call, breaker } = setup(
      { failureThreshold: 1, cooldownMs: 1000, maxCooldownMs: 5000, cooldownMultiplier: 2 },
      [fail, fail, fail, fail, fail, ok, fail],
    );
    const target = { provider: 'main', model: 'model-a' };
    const cooldowns: number[] = [];
    await expect(call()).rejects.toThrow();
    for (let round = 0; round < 5; round += 1) {
      const error = (await call().catch((thrown: unknown) => thrown)) as BreakerOpenError;
      cooldowns.push(error.retryAfterMs!);
      await clock.advance(error.retryAfterMs!);
      await call().catch(() => undefined);
    }
    expect(cooldowns).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(await breaker.state(target, clock.now())).toBe('closed');
    await expect(call()).rejects.toMatchObject({ code: 'server_error' });
    await expect(call()).rejects.toMatchObject({ code: 'breaker_open', retryAfterMs: 1000 });
  });

  it('releases the probe slot when the probe ends with an ignored outcome', async () => {
    const { clock, outcome, transitions, provider } = setup({ failureThreshold: 1, cooldownMs: 1000 }, [
      fail,
      { error: () => new InvalidRequestError({ status: 400 }) },
      ok,
    ]);
    await outcome();
    await clock.advance(1000);
    expect(await outcome()).toBe('invalid_request');
    expect(transitions.map((transition) => transition.to)).toEqual(['open', 'half-open']);
    expect(await outcome()).toBe('ok');
    expect(transitions.at(-1)?.to).toBe('closed');
    expect(provider.calls).toBe(3);
  });

  it('reclaims a stuck probe after probeTimeoutMs; its late success cannot close the re-opened circuit', async () => {
    const { clock, bulwark, outcome, transitions } = setup(
      { failureThreshold: 1, cooldownMs: 1000, probeTimeoutMs: 5000 },
      [fail, { latencyMs: 20_000 }, fail],
    );
    await outcome();
    await clock.advance(1000);
    const stuck = bulwark.chat(request);
    await clock.advance(4999);
    expect(await outcome()).toBe('breaker_open');
    await clock.advance(1);
    expect(await outcome()).toBe('server_error');
    await clock.run(stuck);
    expect(transitions.map((transition) => transition.to)).toEqual(['open', 'half-open', 'open']);
  });

  it('ignores late successes of calls that started before the circuit opened', async () => {
    const { clock, bulwark, provider, transitions, call } = setup({
      failureThreshold: 1,
      cooldownMs: 10_000,
    });
    provider.steps.push(...Array(5).fill({ latencyMs: 100 }), fail);
    const slow = Array.from({ length: 5 }, () => bulwark.chat(request));
    await clock.advance(1);
    await expect(call()).rejects.toMatchObject({ code: 'server_error' });
    await clock.advance(200);
    await Promise.all(slow);
    expect(transitions.map((transition) => transition.to)).toEqual(['open']);
    await expect(call()).rejects.toMatchObject({ code: 'breaker_open', retryAfterMs: 10_000 - 200 });
  });

  it('opens once when concurrent failures pass the threshold together, and still half-opens', async () => {
    const { clock, outcome, transitions } = setup(
      { failureThreshold: 5, cooldownMs: 1000 },
      Array(6).fill({ ...fail, latencyMs: 10 }),
    );
    const results = await runAll(clock, 6, outcome);
    expect(results).toEqual(Array(6).fill('server_error'));
    expect(transitions.map((transition) => transition.to)).toEqual(['open']);
    await clock.advance(1000);
    expect(await outcome()).toBe('ok');
    expect(transitions.map((transition) => transition.to)).toEqual(['open', 'half-open', 'closed']);
  });

  it('counts slow calls as failures when slowCallMs is set', async () => {
    const { outcome, clock, transitions } = setup({ failureThreshold: 2, slowCallMs: 1000 }, [
      { latencyMs: 1500 },
      { latencyMs: 1001 },
    ]);
    const first = clock.run(outcome());
    expect(await first).toBe('ok');
    expect(await clock.run(outcome())).toBe('ok');
    expect(transitions.map((transition) => transition.reason)).toEqual(['consecutive']);
  });

  it('keeps one breaker per target', async () => {
    const clock = createVirtualClock();
    const main = createScriptedProvider({ name: 'main', clock, fallback: fail });
    const breaker = createCircuitBreaker({ failureThreshold: 1 });
    const bulwark = createBulwark({
      providers: [main],
      models: {
        a: [{ provider: 'main', model: 'model-a' }],
        b: [{ provider: 'main', model: 'model-b' }],
      },
      middleware: [breaker],
      clock,
    });
    await expect(bulwark.chat({ ...request, model: 'a' })).rejects.toMatchObject({ code: 'server_error' });
    await expect(bulwark.chat({ ...request, model: 'a' })).rejects.toMatchObject({ code: 'breaker_open' });
    await expect(bulwark.chat({ ...request, model: 'b' })).rejects.toMatchObject({ code: 'server_error' });
    expect(await breaker.state({ provider: 'main', model: 'model-b' }, 0)).toBe('open');
    expect(Object.keys(await breaker.exportState()).sort()).toEqual(['main/model-a', 'main/model-b']);
  });

  it('exports and restores state; a restored open breaker half-opens once its cooldown is over', async () => {
    const first = setup({ failureThreshold: 1, cooldownMs: 5000 }, [fail]);
    await first.outcome();
    const exported = JSON.parse(JSON.stringify(await first.breaker.exportState()));
    expect(exported['main/model-a']).toMatchObject({ state: 'open', openedAt: 0, openUntil: 5000 });
    const second = setup({ failureThreshold: 1, cooldownMs: 5000 });
    await second.breaker.restoreState(exported);
    expect(await second.outcome()).toBe('breaker_open');
    await second.clock.advance(5000);
    expect(await second.outcome()).toBe('ok');
    await second.breaker.reset({ provider: 'main', model: 'model-a' });
    expect(await second.breaker.state({ provider: 'main', model: 'model-a' }, 0)).toBe('closed');
  });

  it('rejects bad options with a ConfigError naming the field', () => {
    const cases: Array<[CircuitBreakerOptions, string]> = [
      [{ failureRatio: 1.5 }, 'failureRatio'],
      [{ failureThreshold: -1 }, 'failureThreshold'],
      [{ minimumCalls: 0 }, 'minimumCalls'],
      [{ cooldownMs: 1000, maxCooldownMs: 500 }, 'maxCooldownMs'],
      [{ halfOpenProbes: 1.5 }, 'halfOpenProbes'],
      [{ windowMs: Number.NaN }, 'windowMs'],
      [{ slowCallMs: 0 }, 'slowCallMs'],
      [{ failureThreshold: 0, failureRatio: 0 }, 'failureThreshold'],
    ];
    for (const [options, path] of cases) {
      let thrown: unknown;
      try {
        createCircuitBreaker(options);
      } catch (error) {
        thrown = error;
      }
      expect(ConfigError.isInstance(thrown), path).toBe(true);
      expect((thrown as ConfigError).path).toBe(path);
    }
  });

  it('is created from config by the plugin registry', async () => {
    const clock = createVirtualClock();
    const registry = createPluginRegistry({ clock, plugins: [plugin] });
    const breaker = (await registry.create(
      'middleware',
      'breaker',
      { failureThreshold: 5, cooldownMs: 30_000 },
      'breaker',
    )) as ReturnType<typeof createCircuitBreaker>;
    expect(breaker.stage).toBe('breaker');
    expect(breaker.policy).toMatchObject({ failureThreshold: 5, cooldownMs: 30_000, halfOpenProbes: 1 });
    await expect(
      registry.create('middleware', 'breaker', { failureRatio: 2 }, 'breaker'),
    ).rejects.toMatchObject({
      code: 'configuration',
      path: 'breaker.failureRatio',
    });
    await expect(
      registry.create('middleware', 'breaker', { cooldownMs: 1000, maxCooldownMs: 10 }, 'breaker'),
    ).rejects.toMatchObject({ code: 'configuration', path: 'breaker.maxCooldownMs' });
    await expect(
      registry.create('middleware', 'breaker', { store: { plugin: 'nowhere' } }, 'breaker'),
    ).rejects.toThrow(/No breaker-store plugin named "nowhere"/);
    await expect(
      registry.create('middleware', 'breaker', { store: 'redis', storeOptions: {} }, 'breaker'),
    ).rejects.toThrow(/breaker\.storeOptions: storeOptions moved into the store/);
  });

  it('creates its store through the registry by kind (breaker-store)', async () => {
    const created: unknown[] = [];
    const registry = createPluginRegistry({
      clock: createVirtualClock(),
      plugins: [
        plugin,
        {
          specificationVersion: 'v1',
          kind: 'breaker-store',
          name: 'shared',
          configSchema: {
            '~standard': { version: 1, vendor: 'test', validate: (value: unknown) => ({ value }) },
          },
          create(config: unknown) {
            created.push(config);
            return createMemoryBreakerStore();
          },
        },
      ],
    });
    await registry.create(
      'middleware',
      'breaker',
      { failureThreshold: 2, store: { plugin: 'shared', url: 'redis://127.0.0.1:6379', prefix: 'app:' } },
      'breaker',
    );
    expect(created).toEqual([{ url: 'redis://127.0.0.1:6379', prefix: 'app:' }]);
  });
});

describe('createCircuitBreaker with streams', () => {
  function streamSetup(options: CircuitBreakerOptions, steps: Step[]) {
    const context = setup(options, steps);
    const consume = async (limit = Number.POSITIVE_INFINITY): Promise<string> => {
      let seen = 0;
      try {
        for await (const event of context.bulwark.stream(request)) {
          if (event.type === 'text-delta' && ++seen >= limit) break;
        }
        return 'ok';
      } catch (error) {
        return (error as { code: string }).code;
      }
    };
    return { ...context, consume };
  }

  it('records a stream when it ends, and a failure when it breaks', async () => {
    const { consume, transitions } = streamSetup({ failureThreshold: 2 }, [
      { text: 'one two three', error: () => new ServerError({ status: 500 }), errorAfterChunks: 2 },
      fail,
    ]);
    expect(await consume()).toBe('stream_interrupted');
    expect(await consume()).toBe('server_error');
    expect(transitions.map((transition) => transition.to)).toEqual(['open']);
  });

  it('releases a half-open probe when the consumer abandons the stream early', async () => {
    const { clock, consume, transitions, provider } = streamSetup({ failureThreshold: 1, cooldownMs: 1000 }, [
      fail,
      { text: 'one two three four' },
      { text: 'five six' },
    ]);
    expect(await consume()).toBe('server_error');
    await clock.advance(1000);
    expect(await consume(1)).toBe('ok');
    expect(transitions.map((transition) => transition.to)).toEqual(['open', 'half-open']);
    expect(await consume()).toBe('ok');
    expect(transitions.map((transition) => transition.to)).toEqual(['open', 'half-open', 'closed']);
    expect(provider.calls).toBe(3);
  });

  it('measures slow streams on time to first content, not total duration', async () => {
    const { consume, clock, transitions } = streamSetup({ failureThreshold: 1, slowCallMs: 1000 }, [
      { latencyMs: 500, text: 'fast first token' },
      { latencyMs: 1500, text: 'slow first token' },
    ]);
    expect(await clock.run(consume())).toBe('ok');
    expect(transitions).toEqual([]);
    expect(await clock.run(consume())).toBe('ok');
    expect(transitions.map((transition) => transition.to)).toEqual(['open']);
  });
});
