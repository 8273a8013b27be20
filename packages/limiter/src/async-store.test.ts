import { AbortedError, type Clock, createBulwark, createVirtualClock } from '@bulwark/core';
import { createScriptedProvider } from '@bulwark/testkit/scenarios';
import { describe, expect, it } from 'vitest';
import type { LimiterStoreV1 } from './limiter-store.js';
import { createMemoryLimiterStore } from './memory-limiter-store.js';
import { createRateLimiter } from './rate-limiter.js';

/** The scripted provider as the limiter tests use it: `main` with two models, answering `ok`, latency after `start`. */
const limiterTestProvider = {
  models: ['model-a', 'model-b'],
  text: 'ok',
  streamLatency: 'after-start',
} as const;

/** A store that answers after `latencyMs` on the clock, like a network store (Redis). */
function slowStore(clock: Clock, latencyMs: number): LimiterStoreV1 & { calls: number } {
  const memory = createMemoryLimiterStore();
  const store = {
    specificationVersion: 'v1' as const,
    name: 'slow',
    calls: 0,
    async acquire(...args: Parameters<LimiterStoreV1['acquire']>) {
      store.calls += 1;
      await clock.sleep(latencyMs);
      return memory.acquire(args[0], args[1], args[2], clock.now());
    },
    async adjust(...args: Parameters<LimiterStoreV1['adjust']>) {
      await clock.sleep(latencyMs);
      return memory.adjust(args[0], args[1], args[2], clock.now());
    },
    async pause(...args: Parameters<LimiterStoreV1['pause']>) {
      await clock.sleep(latencyMs);
      return memory.pause(args[0], args[1], args[2], clock.now());
    },
  };
  return store;
}

const request = (text: string) => ({
  model: 'main/model-a',
  messages: [{ role: 'user' as const, content: text }],
  maxTokens: 10,
});

describe('createRateLimiter with an asynchronous store', () => {
  it('paces and orders callers the same way', async () => {
    const clock = createVirtualClock();
    const provider = createScriptedProvider(limiterTestProvider);
    const limiter = createRateLimiter({
      limits: { main: { rpm: 60, requestBurst: 1 } },
      clock,
      store: slowStore(clock, 5),
    });
    const bulwark = createBulwark({ providers: [provider], middleware: [limiter], clock });
    await clock.run(
      Promise.all([
        bulwark.chat(request('first')),
        bulwark.chat(request('low'), { metadata: { priority: 0 } }),
        bulwark.chat(request('high'), { metadata: { priority: 9 } }),
      ]),
    );
    // The store decides on its own time, after its latency: each queued admission lands 5 ms after its
    // slot (with a burst of 1 that latency is lost; the default one-second burst absorbs it).
    expect(provider.starts.map((entry) => [entry.request.messages[0]!.content, entry.at])).toEqual([
      ['first', 5],
      ['high', 1010],
      ['low', 2015],
    ]);
    expect(clock.pending()).toBe(0);
  });

  it('gives back what an aborted waiter was charged while the store answered', async () => {
    const clock = createVirtualClock();
    const provider = createScriptedProvider(limiterTestProvider);
    const store = slowStore(clock, 50);
    const limiter = createRateLimiter({ limits: { main: { rpm: 60, requestBurst: 1 } }, clock, store });
    const bulwark = createBulwark({ providers: [provider], middleware: [limiter], clock });
    await clock.run(bulwark.chat(request('first')));
    const controller = new AbortController();
    const aborted = bulwark
      .chat(request('aborted'), { signal: controller.signal })
      .catch((caught: unknown) => caught);
    const next = bulwark.chat(request('next'));
    // At 1000 the pump asks the store for the head; abort it while the store is answering.
    await clock.advance(1000 - clock.now() + 10);
    controller.abort();
    expect(AbortedError.isInstance(await aborted)).toBe(true);
    await clock.run(next);
    // The refund let "next" go right after, not a second later.
    expect(provider.starts.map((entry) => entry.request.messages[0]!.content)).toEqual(['first', 'next']);
    expect(provider.starts[1]!.at).toBeLessThan(1300);
    expect(limiter.stats()).toMatchObject({ queueLength: 0, inFlight: 0 });
    expect(clock.pending()).toBe(0);
  });
});
