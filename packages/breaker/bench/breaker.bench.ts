import { BreakerOpenError, createBulwark, createVirtualClock, type ProviderV1 } from '@bulwark/core';
import { bench, describe } from 'vitest';
import { createCircuitBreaker } from '../src/index.js';

/**
 * What the breaker costs on the hot path: an admitted call through a closed breaker, and the
 * fail-fast rejection of an open one (store call + BreakerOpenError), against no breaker at all.
 */
const clock = createVirtualClock();
const request = { model: 'chat', messages: [{ role: 'user' as const, content: 'hi' }] };
const provider: ProviderV1 = {
  specificationVersion: 'v1',
  name: 'p',
  system: 'bench',
  capabilities: { streaming: true, tools: false, vision: false, jsonMode: false },
  async complete(call) {
    return {
      id: '1',
      provider: 'p',
      model: call.model,
      text: 'ok',
      toolCalls: [],
      finishReason: 'stop',
      attempts: [],
    };
  },
  async *stream() {},
};
const models = { chat: [{ provider: 'p', model: 'm' }] };
const plain = createBulwark({ providers: [provider], models, clock, validateRequests: false });
const closed = createBulwark({
  providers: [provider],
  models,
  clock,
  validateRequests: false,
  middleware: [createCircuitBreaker()],
});
const openBreaker = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 1e12 });
const open = createBulwark({
  providers: [provider],
  models,
  clock,
  validateRequests: false,
  middleware: [openBreaker],
});
await openBreaker.restoreState({
  'p/m': {
    state: 'open',
    epoch: 1,
    consecutiveFailures: 0,
    buckets: [],
    openedAt: 0,
    openUntil: 1e12,
    opens: 1,
    probes: [],
    probeSuccesses: 0,
    nextProbeId: 1,
  },
});

describe('breaker overhead per call', () => {
  bench('no breaker', async () => {
    await plain.chat(request);
  });
  bench('closed breaker', async () => {
    await closed.chat(request);
  });
  bench('open breaker (fail fast)', async () => {
    try {
      await open.chat(request);
    } catch (error) {
      if (!BreakerOpenError.isInstance(error)) throw error;
    }
  });
});
