import { createCircuitBreaker } from '@bulwark/breaker';
import {
  type BulwarkEventMap,
  ConfigError,
  createBulwark,
  createEventBus,
  createPluginRegistry,
  createRetryBudget,
  createVirtualClock,
  type MiddlewareV1,
  type StreamEvent,
} from '@bulwark/core';
import { createMockProvider, type MockProviderOptions } from '@bulwark/provider-mock';
import { describe, expect, it } from 'vitest';
import { createHedgingRouter, type HedgingRouterOptions } from './hedging-router.js';
import { plugin } from './plugin.js';

const request = { model: 'chat', messages: [{ role: 'user' as const, content: 'Tell me something short.' }] };

function setup(
  hedging: HedgingRouterOptions,
  primary: Omit<MockProviderOptions, 'clock' | 'name'>,
  secondary: Omit<MockProviderOptions, 'clock' | 'name'>,
  middleware: MiddlewareV1[] = [],
) {
  const clock = createVirtualClock();
  const events = createEventBus();
  const hedges: Array<BulwarkEventMap['hedge:started']> = [];
  const skipped: Array<BulwarkEventMap['hedge:skipped']> = [];
  events.on('hedge:started', (event) => hedges.push(event));
  events.on('hedge:skipped', (event) => skipped.push(event));
  const first = createMockProvider({ ...primary, name: 'first', clock });
  const second = createMockProvider({ ...secondary, name: 'second', clock });
  const bulwark = createBulwark({
    providers: [first, second],
    models: {
      chat: [
        { provider: 'first', model: 'model-1' },
        { provider: 'second', model: 'model-2' },
      ],
    },
    routing: createHedgingRouter(hedging),
    middleware,
    clock,
    events,
  });
  return { clock, first, second, bulwark, hedges, skipped, events };
}

async function collectStream(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

async function outcome(promise: Promise<{ provider: string }>): Promise<string> {
  try {
    return (await promise).provider;
  } catch (error) {
    return (error as { code: string }).code;
  }
}

describe('createHedgingRouter', () => {
  it('hedges a slow primary: the hedge answers first, the primary is aborted and awaited (T-H1)', async () => {
    const { clock, first, second, bulwark, hedges } = setup(
      { delayMs: 1000, budget: false },
      { latencyMs: 5000 },
      { latencyMs: 1500 },
    );
    const response = await clock.run(bulwark.chat(request));
    expect(response.provider).toBe('second');
    expect(clock.now()).toBe(2500);
    expect(hedges).toEqual([
      expect.objectContaining({
        from: { provider: 'first', model: 'model-1' },
        to: { provider: 'second', model: 'model-2' },
        delayMs: 1000,
      }),
    ]);
    expect(first.calls[0]).toMatchObject({ outcome: 'aborted', endedAt: 2500 });
    expect(second.calls[0]).toMatchObject({ outcome: 'success', startedAt: 1000 });
    expect(first.inFlight + second.inFlight).toBe(0);
    expect(clock.pending()).toBe(0);
    // In order of settlement: the winner, then the loser it aborted.
    expect(response.attempts.map((record) => `${record.provider}:${record.error ?? 'ok'}`)).toEqual([
      'second:ok',
      'first:aborted',
    ]);
  });

  it('sends no hedge when the primary answers within the delay', async () => {
    const { clock, second, bulwark, hedges } = setup({ delayMs: 1000 }, { latencyMs: 900 }, {});
    const response = await clock.run(bulwark.chat(request));
    expect(response.provider).toBe('first');
    expect(second.callCount).toBe(0);
    expect(hedges).toEqual([]);
    expect(clock.pending()).toBe(0);
  });

  it('keeps the primary when it answers first after the hedge started, aborting the hedge', async () => {
    const { clock, second, bulwark } = setup(
      { delayMs: 1000, budget: false },
      { latencyMs: 1200 },
      { latencyMs: 5000 },
    );
    const response = await clock.run(bulwark.chat(request));
    expect(response.provider).toBe('first');
    expect(clock.now()).toBe(1200);
    expect(second.calls[0]).toMatchObject({ outcome: 'aborted', startedAt: 1000, endedAt: 1200 });
  });

  it('starts the next target at once when the primary fails, not after the delay (T-H2)', async () => {
    const { clock, second, bulwark, hedges } = setup(
      { delayMs: 1000 },
      { script: [{ latencyMs: 200, error: 'server_error', status: 503 }] },
      { latencyMs: 300 },
    );
    const response = await clock.run(bulwark.chat(request));
    expect(response.provider).toBe('second');
    expect(second.calls[0]!.startedAt).toBe(200);
    expect(clock.now()).toBe(500);
    expect(hedges).toEqual([]);
  });

  it('sends no hedge once the budget is spent; the primary is awaited normally (T-H3)', async () => {
    const { clock, first, second, bulwark, hedges, skipped } = setup(
      { delayMs: 1000, budget: { maxTokens: 1, minPerSecond: 0, ratio: 0 } },
      { latencyMs: 5000 },
      { latencyMs: 5000 },
    );
    expect(await clock.run(outcome(bulwark.chat(request)))).toBe('first');
    expect(hedges).toHaveLength(1);
    const started = clock.now();
    expect(await clock.run(outcome(bulwark.chat(request)))).toBe('first');
    expect(clock.now() - started).toBe(5000);
    expect(skipped).toEqual([expect.objectContaining({ provider: 'first', reason: 'budget' })]);
    expect(first.callCount).toBe(2);
    expect(second.callCount).toBe(1);
  });

  it('raises the most meaningful error with the trail when every attempt fails (T-H4)', async () => {
    const { clock, bulwark } = setup(
      { delayMs: 100, budget: false },
      { script: [{ latencyMs: 500, error: 'rate_limited', retryAfterMs: 3000 }] },
      { script: [{ latencyMs: 200, error: 'connection_error' }] },
    );
    const error = await clock.run(
      bulwark.chat(request).catch((thrown: unknown) => thrown as Record<string, unknown>),
    );
    expect(error).toMatchObject({ code: 'rate_limited', retryAfterMs: 3000, provider: 'first' });
    expect((error.attempts as Array<{ error: string }>).map((record) => record.error)).toEqual([
      'connection_error',
      'rate_limited',
    ]);
  });

  it('cancels the other attempt when one fails with an error no target can fix', async () => {
    const { clock, first, bulwark } = setup(
      { delayMs: 100, budget: false },
      { latencyMs: 5000 },
      { script: [{ latencyMs: 50, error: 'invalid_request' }] },
    );
    expect(await clock.run(outcome(bulwark.chat(request)))).toBe('invalid_request');
    expect(clock.now()).toBe(150);
    expect(first.calls[0]).toMatchObject({ outcome: 'aborted' });
  });

  it('stops every attempt when the caller aborts', async () => {
    const { clock, first, second, bulwark } = setup(
      { delayMs: 100, budget: false },
      { latencyMs: 5000 },
      { latencyMs: 5000 },
    );
    const controller = new AbortController();
    const pending = outcome(bulwark.chat(request, { signal: controller.signal }));
    await clock.advance(300);
    controller.abort();
    expect(await pending).toBe('aborted');
    expect([first.calls[0]?.outcome, second.calls[0]?.outcome]).toEqual(['aborted', 'aborted']);
    expect(clock.pending()).toBe(0);
  });

  it('derives the delay from the recent latency percentile once warmed up', async () => {
    const { clock, first, second, bulwark, hedges } = setup(
      { delayMs: 10_000, adaptive: { percentile: 0.9, minSamples: 10, sampleSize: 50 }, budget: false },
      { latencyMs: { kind: 'uniform', minMs: 100, maxMs: 200 }, seed: 3 },
      { latencyMs: 50 },
    );
    for (let index = 0; index < 10; index += 1) await clock.run(bulwark.chat(request));
    expect(second.callCount).toBe(0);
    const durations = first.calls.map((call) => call.endedAt! - call.startedAt).sort((a, b) => a - b);
    const p90 = durations[8]!;
    first.enqueue({ latencyMs: 5000 });
    const started = clock.now();
    const response = await clock.run(bulwark.chat(request));
    expect(response.provider).toBe('second');
    expect(hedges.at(-1)!.delayMs).toBe(p90);
    expect(clock.now() - started).toBe(p90 + 50);
  });

  it('keeps the load amplification near the budget when every call is slow', async () => {
    const { clock, first, second, bulwark } = setup(
      { delayMs: 100, budget: { ratio: 0.1, minPerSecond: 0, maxTokens: 5 } },
      { latencyMs: 1000 },
      { latencyMs: 1000 },
    );
    const calls = 1000;
    const results = await clock.run(
      Promise.all(Array.from({ length: calls }, () => outcome(bulwark.chat(request)))),
    );
    expect(results.filter((result) => result === 'first')).toHaveLength(calls);
    const amplification = (first.callCount + second.callCount) / calls;
    // 5 tokens to start with, then at most one hedge per 10 successes.
    expect(second.callCount).toBeLessThanOrEqual(5 + calls * 0.1);
    expect(amplification).toBeLessThan(1.11);
  });

  it('shares a retry budget instance when given one', async () => {
    const budget = createRetryBudget({
      maxTokens: 1,
      minPerSecond: 0,
      ratio: 0,
      clock: createVirtualClock(),
    });
    expect(budget.trySpend()).toBe(true);
    const { clock, bulwark, second, skipped } = setup({ delayMs: 10, budget }, { latencyMs: 100 }, {});
    expect(await clock.run(outcome(bulwark.chat(request)))).toBe('first');
    expect(second.callCount).toBe(0);
    expect(skipped).toHaveLength(1);
  });

  it('hedges past a target whose breaker is open without waiting for the delay', async () => {
    const breaker = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 60_000 });
    const { clock, first, second, bulwark } = setup(
      { delayMs: 1000, budget: false },
      { script: [{ error: 'server_error' }] },
      { latencyMs: 10 },
      [breaker],
    );
    expect(await clock.run(outcome(bulwark.chat(request)))).toBe('second');
    const started = clock.now();
    expect(await clock.run(outcome(bulwark.chat(request)))).toBe('second');
    expect(clock.now() - started).toBe(10);
    expect(first.callCount).toBe(1);
    expect(second.callCount).toBe(2);
  });

  it('hedges on the same target when reuseTargets is on and no other target is left', async () => {
    const clock = createVirtualClock();
    const only = createMockProvider({
      name: 'only',
      clock,
      script: [{ latencyMs: 5000 }, { latencyMs: 300 }],
    });
    const bulwark = createBulwark({
      providers: [only],
      models: { chat: [{ provider: 'only', model: 'model-1' }] },
      routing: createHedgingRouter({ delayMs: 1000, budget: false, reuseTargets: true }),
      clock,
    });
    const events = await clock.run(collectStream(bulwark.stream(request)));
    expect(events.at(-1)).toMatchObject({ type: 'finish' });
    expect(clock.now()).toBe(1300);
    expect(only.calls.map((call) => call.outcome)).toEqual(['aborted', 'success']);
    const plain = setup({ delayMs: 1000, budget: false }, { latencyMs: 5000 }, { latencyMs: 5000 });
    await plain.clock.run(plain.bulwark.chat(request));
    expect(plain.first.callCount + plain.second.callCount).toBe(2);
  });

  it('rejects bad options naming the field, and is created by the plugin registry', async () => {
    expect(() => createHedgingRouter({ delayMs: -1 })).toThrow(ConfigError);
    expect(() => createHedgingRouter({ adaptive: { percentile: 1.5 } })).toThrow(/adaptive\.percentile/);
    expect(() => createHedgingRouter({ maxHedgedAttempts: 0.5 })).toThrow(/maxHedgedAttempts/);
    const registry = createPluginRegistry({ plugins: [plugin] });
    const router = await registry.create('routing', 'hedge', { delayMs: 500 }, 'routing');
    expect(router.name).toBe('hedge');
    await expect(registry.create('routing', 'hedge', { delayMs: 'soon' }, 'routing')).rejects.toMatchObject({
      code: 'configuration',
      path: 'routing.delayMs',
    });
  });
});

describe('createHedgingRouter with streams', () => {
  async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
    const events: StreamEvent[] = [];
    for await (const event of stream) events.push(event);
    return events;
  }

  it('hedges on time to first content; the caller sees one stream, from the winner', async () => {
    const { clock, first, second, bulwark } = setup(
      { delayMs: 1000, budget: false },
      { latencyMs: 5000 },
      { latencyMs: 200, chunkDelayMs: 100 },
    );
    const events = await clock.run(collect(bulwark.stream(request)));
    expect(events.filter((event) => event.type === 'start')).toEqual([
      expect.objectContaining({ provider: 'second' }),
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'finish' });
    expect(first.calls[0]).toMatchObject({ outcome: 'aborted', endedAt: 1200 });
    expect(second.calls[0]).toMatchObject({ outcome: 'success' });
    expect(clock.pending()).toBe(0);
  });

  it('does not hedge once content flows, however slow the rest of the stream is', async () => {
    const { clock, second, bulwark, hedges } = setup(
      { delayMs: 1000, budget: false },
      { latencyMs: 100, chunkDelayMs: 3000, chunkSize: 4 },
      {},
    );
    const events = await clock.run(collect(bulwark.stream(request)));
    expect(events.filter((event) => event.type === 'text-delta').length).toBeGreaterThan(2);
    expect(hedges).toEqual([]);
    expect(second.callCount).toBe(0);
  });

  it('ends with StreamInterruptedError when the winner breaks after content, without a hedge', async () => {
    const { clock, second, bulwark } = setup(
      { delayMs: 1000, budget: false },
      { script: [{ streamCutAfter: 1 }], chunkSize: 4 },
      {},
    );
    const error = await clock.run(collect(bulwark.stream(request)).catch((thrown: unknown) => thrown));
    expect(error).toMatchObject({ code: 'stream_interrupted' });
    expect(second.callCount).toBe(0);
  });

  it('releases both attempts when the consumer stops early', async () => {
    const { clock, first, second, bulwark } = setup(
      { delayMs: 100, budget: false },
      { latencyMs: 5000 },
      { latencyMs: 200, chunkSize: 2 },
    );
    await clock.run(
      (async () => {
        for await (const event of bulwark.stream(request)) if (event.type === 'text-delta') break;
      })(),
    );
    expect(first.calls[0]!.outcome).toBe('aborted');
    expect(second.calls[0]!.outcome).toBe('aborted');
    expect(first.inFlight + second.inFlight).toBe(0);
  });
});

describe('createHedgingRouter: what holds a process open', () => {
  it('the hedge delay is a ref’d timer of the call in flight and is gone once the call settles', async () => {
    const { clock, bulwark } = setup(
      { delayMs: 1000, budget: false },
      { latencyMs: 5000 },
      { latencyMs: 100 },
    );
    const call = bulwark.chat(request, { timeoutMs: 60_000 });
    await clock.advance(0);
    // The primary's wait (its simulated I/O) and the hedge delay hold the process; the deadline only bounds them.
    expect(clock.pending({ ref: true })).toBe(2);
    expect(clock.pending({ ref: false })).toBe(1);
    expect((await clock.run(call)).provider).toBe('second');
    expect(clock.pending()).toBe(0);
  });
});
