import { createBulwark, createVirtualClock } from '@bulwark/core';
import { createMockProvider } from '@bulwark/provider-mock';
import { describe, expect, it } from 'vitest';
import { createCircuitBreaker } from './circuit-breaker.js';

describe('breaker: embeddings', () => {
  it('opens on failing embedding calls and then sends them to the healthy target without calling the open one', async () => {
    const clock = createVirtualClock();
    const primary = createMockProvider({ name: 'primary', clock, script: ['server_error', 'server_error'] });
    const backup = createMockProvider({ name: 'backup', clock });
    const bulwark = createBulwark({
      providers: [primary, backup],
      models: {
        vectors: [
          { provider: 'primary', model: 'embed' },
          { provider: 'backup', model: 'embed' },
        ],
      },
      middleware: [createCircuitBreaker({ failureThreshold: 2 })],
      clock,
    });
    for (let call = 0; call < 2; call += 1) {
      expect((await clock.run(bulwark.embed({ model: 'vectors', input: ['x'] }))).provider).toBe('backup');
    }
    const third = await clock.run(bulwark.embed({ model: 'vectors', input: ['x'] }));
    expect(third.provider).toBe('backup');
    // The open breaker refused the primary locally: no third call reached it.
    expect(primary.callCount).toBe(2);
    expect(third.attempts.map((attempt) => [attempt.provider, attempt.error])).toEqual([
      ['primary', 'breaker_open'],
      ['backup', undefined],
    ]);
  });
});
