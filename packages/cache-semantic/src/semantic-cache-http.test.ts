import { createBulwark, createEventBus } from '@bulwark/core';
import { createOpenAIProvider } from '@bulwark/provider-openai';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProviderEmbeddings } from './embedding-function.js';
import { createSemanticCache } from './semantic-cache.js';

describe('semantic cache over HTTP (fake OpenAI-compatible upstream)', () => {
  let upstream: FakeUpstream;

  beforeAll(async () => {
    upstream = await createFakeUpstream();
  });

  afterAll(async () => {
    await upstream.close();
  });

  it('embeds through /v1/embeddings and answers a near duplicate without a second chat call', async () => {
    const openai = createOpenAIProvider({
      name: 'openai',
      baseURL: upstream.openaiBaseURL,
      apiKey: 'sk-test-semantic',
    });
    const events = createEventBus();
    const scores: number[] = [];
    events.on('cache:semantic', (payload) => payload.score !== undefined && scores.push(payload.score));
    const semantic = createSemanticCache({
      embed: createProviderEmbeddings(openai, { model: 'text-embedding-3-small', dimensions: 256 }),
    });
    const bulwark = createBulwark({ providers: [openai], middleware: [semantic], events });
    try {
      const request = (text: string) => ({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user' as const, content: text }],
        temperature: 0,
      });
      const first = await bulwark.chat(request('How do I reset my password?'));
      await semantic.flush();
      const second = await bulwark.chat(request('how do I reset my password'));
      const different = await bulwark.chat(request('How do I delete my account?'));
      expect(second.cache).toBe('hit');
      expect(second.text).toBe(first.text);
      expect(different.cache).toBeUndefined();
      const formats = upstream.requests.map((recorded) => recorded.format);
      expect(formats.filter((format) => format === 'embeddings')).toHaveLength(3);
      expect(formats.filter((format) => format === 'openai')).toHaveLength(2);
      const embeddingBody = upstream.requests.find((recorded) => recorded.format === 'embeddings')!.body as {
        input: unknown;
        dimensions: number;
      };
      expect(embeddingBody.dimensions).toBe(256);
      expect(JSON.stringify(embeddingBody.input)).toContain('How do I reset my password?');
      expect(scores[0]).toBeGreaterThan(0.95);
    } finally {
      await bulwark.close();
    }
  });

  it('keeps answering when the embeddings endpoint fails', async () => {
    upstream.reset();
    const openai = createOpenAIProvider({
      name: 'openai',
      baseURL: upstream.openaiBaseURL,
      apiKey: 'sk-test-semantic',
    });
    const semantic = createSemanticCache({
      embed: createProviderEmbeddings(openai, { model: 'text-embedding-3-small' }),
    });
    const bulwark = createBulwark({ providers: [openai], middleware: [semantic] });
    upstream.enqueue({ kind: 'status', status: 500 });
    try {
      const answer = await bulwark.chat({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hello' }],
        temperature: 0,
      });
      expect(answer.text.length).toBeGreaterThan(0);
      expect(upstream.requests.map((recorded) => recorded.format)).toEqual(['embeddings', 'openai']);
    } finally {
      await bulwark.close();
    }
  });
});
