import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createCache } from '@bulwark/cache';
import { createMemoryCache } from '@bulwark/cache-memory';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import { generateText, streamText, wrapLanguageModel } from 'ai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bulwarkMiddleware } from './bulwark-middleware.js';
import type { BulwarkProviderMetadata } from './bulwark-model.js';

const apiKey = 'sk-test-bulwark-middleware-0123456789';
let upstream: FakeUpstream;

beforeEach(async () => {
  upstream = await createFakeUpstream();
});
afterEach(async () => {
  await upstream.close();
});

const meta = (metadata: unknown): BulwarkProviderMetadata =>
  (metadata as { bulwark: BulwarkProviderMetadata }).bulwark;

describe('bulwarkMiddleware', () => {
  it('falls back from the wrapped model to another provider, and caches', async () => {
    const cache = createCache({ backend: createMemoryCache({ maxBytes: 1024 * 1024 }), ttlSeconds: 60 });
    const model = wrapLanguageModel({
      model: createOpenAI({ baseURL: upstream.openaiBaseURL, apiKey }).chat('gpt-4o'),
      middleware: bulwarkMiddleware({
        middleware: [cache],
        fallbacks: [
          createAnthropic({ baseURL: `${upstream.anthropicBaseURL}/v1`, apiKey })('claude-haiku-4-5'),
        ],
      }),
    });
    upstream.enqueue({ kind: 'status', status: 500 });
    const first = await generateText({ model, prompt: 'wrapped call', maxRetries: 0 });
    expect(first.text).toBe('echo: wrapped call');
    expect(meta(first.providerMetadata).provider).toBe('fallback-1');
    expect(upstream.requests.map((request) => request.format)).toEqual(['openai', 'anthropic']);
    await cache.flush();
    const again = await generateText({ model, prompt: 'wrapped call', maxRetries: 0 });
    expect(meta(again.providerMetadata).cache).toBe('hit');
    expect(upstream.requests).toHaveLength(2);
  });

  it('streams through the wrapped model', async () => {
    const model = wrapLanguageModel({
      model: createOpenAI({ baseURL: upstream.openaiBaseURL, apiKey }).chat('gpt-4o'),
      middleware: bulwarkMiddleware(),
    });
    const result = streamText({ model, prompt: 'a streamed wrapped call', maxRetries: 0 });
    expect(await result.text).toBe('echo: a streamed wrapped call');
    expect(meta(await result.providerMetadata).attempts).toHaveLength(1);
  });
});
