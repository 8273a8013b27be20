import { countRequestTokens, createBulwark, embeddingShadowRequest } from '@bulwark/core';
import { createMockProvider } from '@bulwark/provider-mock';
import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limiter.js';

describe('limiter: embeddings', () => {
  it('charges each input item’s tokens and corrects to the reported usage', async () => {
    const limiter = createRateLimiter({ limits: { primary: { tpm: 60_000, rpm: 600 } } });
    const bulwark = createBulwark({
      providers: [createMockProvider({ name: 'primary' })],
      models: { vectors: [{ provider: 'primary', model: 'embed' }] },
      middleware: [limiter],
    });
    const request = {
      model: 'vectors',
      input: ['速率限制器在每次调用之前预留令牌', 'a second item', 'third'],
    };
    const result = await bulwark.embed(request);
    const shadow = embeddingShadowRequest({ ...request, model: 'embed' });
    // One user message per item, plus the one output token an embedding call may "generate".
    expect(limiter.stats()).toMatchObject({
      tokensReserved: countRequestTokens(shadow) + 1,
      tokensUsed: result.usage.inputTokens,
      inFlight: 0,
    });
    await limiter.close();
  });
});
