import { createMockProvider, createSeededRandom } from '@bulwark/provider-mock';
import { createScenario } from '@bulwark/testkit/scenarios';
import { describe, expect, it } from 'vitest';
import { createRetry } from './retry-policy.js';

const scenario = createScenario(createMockProvider);

describe('retry: embeddings', () => {
  it('retries a transient embedding failure on the same target, in virtual time', async () => {
    const { clock, bulwark, mocks } = scenario([createRetry({ random: createSeededRandom(1) })], {
      primary: { script: ['server_error', 'ok'] },
    });
    const result = await clock.run(bulwark.embed({ model: 'default', input: ['alpha', 'beta'] }));
    expect(result.provider).toBe('primary');
    expect(result.embeddings).toHaveLength(2);
    expect(mocks.primary!.callCount).toBe(2);
    expect(result.attempts.map((attempt) => attempt.error)).toEqual(['server_error', undefined]);
  });
});
