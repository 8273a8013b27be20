import { createCache } from '@bulwark/cache';
import {
  type ChatRequest,
  createBulwark,
  createEventBus,
  createVirtualClock,
  type StreamEvent,
} from '@bulwark/core';
import { createMockProvider } from '@bulwark/provider-mock';
import { embedText } from '@bulwark/testkit';
import { describe, expect, it } from 'vitest';
import type { EmbeddingFunction } from './embedding-function.js';
import { sameNegation } from './negation-guard.js';
import { createSemanticCache, type SemanticCacheOptions } from './semantic-cache.js';
import { createMemoryVectorIndex, normalize } from './vector-index.js';

const deterministicEmbed: EmbeddingFunction = async (texts) => texts.map((text) => embedText(text, 256));

const ask = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'mock-1',
  messages: [
    { role: 'system', content: 'Answer briefly.' },
    { role: 'user', content: text },
  ],
  temperature: 0,
  ...extra,
});

function setup(options: Partial<SemanticCacheOptions> = {}) {
  const clock = createVirtualClock();
  const events = createEventBus();
  let embedCalls = 0;
  const embed: EmbeddingFunction = async (texts, context) => {
    embedCalls += 1;
    return (options.embed ?? deterministicEmbed)(texts, context);
  };
  const semantic = createSemanticCache({ index: createMemoryVectorIndex({ clock }), ...options, embed });
  const mock = createMockProvider({ clock });
  const bulwark = createBulwark({ providers: [mock], middleware: [semantic], clock, events });
  const seen: Array<{ name: string; payload: Record<string, unknown> }> = [];
  events.onAny((name, payload) => seen.push({ name, payload: payload as Record<string, unknown> }));
  return { clock, semantic, mock, bulwark, seen, embedCalls: () => embedCalls };
}

async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('createSemanticCache', () => {
  it('serves a near-duplicate last message from the cache', async () => {
    const { bulwark, mock, semantic, seen } = setup();
    const first = await bulwark.chat(ask('What is the capital of France?'));
    await semantic.flush();
    const second = await bulwark.chat(ask('what is the capital of france'));
    expect(second.cache).toBe('hit');
    expect(second.text).toBe(first.text);
    expect(mock.callCount).toBe(1);
    const report = seen.find((event) => event.name === 'cache:semantic' && event.payload.hit)!.payload;
    expect(report.score as number).toBeGreaterThan(0.99);
  });

  it('misses a different question at the default threshold, and hits it at a low one (the documented risk)', async () => {
    const strict = setup();
    await strict.bulwark.chat(ask('What is the capital of France?'));
    expect((await strict.bulwark.chat(ask('What is the capital of Germany?'))).cache).toBeUndefined();
    expect(strict.mock.callCount).toBe(2);
    const loose = setup({ threshold: 0.6 });
    await loose.bulwark.chat(ask('What is the capital of France?'));
    expect((await loose.bulwark.chat(ask('What is the capital of Germany?'))).cache).toBe('hit');
  });

  it('refuses a near match that differs in negation', async () => {
    const { bulwark, mock, seen } = setup({ threshold: 0.5 });
    await bulwark.chat(ask('Is the free plan limited to ten users?'));
    const negated = await bulwark.chat(ask('Is the free plan not limited to ten users?'));
    expect(negated.cache).toBeUndefined();
    expect(mock.callCount).toBe(2);
    expect(
      seen.some(
        (event) => event.name === 'cache:semantic' && event.payload.reason === 'refused by the guard',
      ),
    ).toBe(true);
    expect(sameNegation("Isn't it safe?", 'Is it safe?')).toBe(false);
    expect(sameNegation('Is it never not safe?', 'Is it safe?')).toBe(true);
  });

  it('requires everything but the last user message to match exactly', async () => {
    const { bulwark, mock } = setup();
    await bulwark.chat(ask('Summarize the report'));
    const variants: ChatRequest[] = [
      ask('Summarize the report', { model: 'mock-2' }),
      ask('Summarize the report', { seed: 3 }),
      ask('Summarize the report', { maxTokens: 50 }),
      {
        ...ask('Summarize the report'),
        messages: [
          { role: 'system', content: 'Answer at length.' },
          { role: 'user', content: 'Summarize the report' },
        ],
      },
      {
        ...ask('Summarize the report'),
        messages: [
          { role: 'user', content: 'earlier turn' },
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: 'Summarize the report' },
        ],
      },
    ];
    for (const variant of variants) expect((await bulwark.chat(variant)).cache).toBeUndefined();
    expect(mock.callCount).toBe(1 + variants.length);
    expect((await bulwark.chat(ask('summarize the report!'))).cache).toBe('hit');
  });

  it('keeps tenants apart', async () => {
    const { bulwark, mock } = setup();
    await bulwark.chat(ask('Quarterly numbers?'), { metadata: { tenant: 'acme' } });
    expect(
      (await bulwark.chat(ask('quarterly numbers'), { metadata: { tenant: 'globex' } })).cache,
    ).toBeUndefined();
    expect((await bulwark.chat(ask('quarterly numbers'), { metadata: { tenant: 'acme' } })).cache).toBe(
      'hit',
    );
    expect(mock.callCount).toBe(2);
  });

  it('does not embed non-deterministic requests, images or a last message that is not from the user', async () => {
    const { bulwark, embedCalls } = setup();
    await bulwark.chat(ask('creative', { temperature: 0.9 }));
    await bulwark.chat({
      ...ask('x'),
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this' },
            { type: 'image', url: 'https://example.com/a.png' },
          ],
        },
      ],
    });
    await bulwark.chat({
      ...ask('x'),
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'continue' },
      ],
    });
    expect(embedCalls()).toBe(0);
  });

  it('honours no-store and no-cache', async () => {
    const { bulwark, mock, semantic } = setup();
    await bulwark.chat(ask('Tell me a fact'), { cache: { noStore: true } });
    expect((await bulwark.chat(ask('tell me a fact'))).cache).toBeUndefined();
    await semantic.flush();
    expect((await bulwark.chat(ask('Tell me a fact.'), { cache: { noCache: true } })).cache).toBeUndefined();
    expect((await bulwark.chat(ask('tell me a fact?'))).cache).toBe('hit');
    expect(mock.callCount).toBe(3);
  });

  it('keeps the call working when embedding fails', async () => {
    const { bulwark, seen } = setup({
      embed: async () => {
        throw new Error('embeddings endpoint down');
      },
    });
    const answer = await bulwark.chat(ask('still answered'));
    expect(answer.text.length).toBeGreaterThan(0);
    expect(seen.find((event) => event.name === 'cache:error')?.payload).toEqual({
      operation: 'semantic:embed',
      error: 'embeddings endpoint down',
    });
  });

  it('stores streamed answers on completion and replays hits as streams', async () => {
    const { bulwark, mock, clock } = setup();
    const first = await clock.run(() => collect(bulwark.stream(ask('Stream a story about castles'))));
    const replay = await collect(bulwark.stream(ask('stream a story about castles')));
    expect(mock.callCount).toBe(1);
    expect(replay[0]).toMatchObject({ type: 'start', cache: 'hit' });
    const text = (events: StreamEvent[]) => events.filter((event) => event.type === 'text-delta');
    expect(text(replay)).toEqual(text(first));
  });

  it('expires entries after the TTL', async () => {
    const { bulwark, clock } = setup({ ttlSeconds: 10 });
    await bulwark.chat(ask('ephemeral question'));
    await clock.advance(9_000);
    expect((await bulwark.chat(ask('Ephemeral question?'))).cache).toBe('hit');
    await clock.advance(1_001);
    expect((await bulwark.chat(ask('Ephemeral question?'))).cache).toBeUndefined();
  });

  it('sits behind the exact cache: exact hits first, near matches next, neither stores the other', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock });
    const exact = createCache({
      backend: (await import('@bulwark/cache-memory')).createMemoryCache({ clock }),
    });
    const semantic = createSemanticCache({
      embed: deterministicEmbed,
      index: createMemoryVectorIndex({ clock }),
    });
    const bulwark = createBulwark({ providers: [mock], middleware: [exact, semantic], clock });
    expect((await bulwark.chat(ask('Where is the library?'))).cache).toBe('miss');
    await exact.flush();
    expect((await bulwark.chat(ask('Where is the library?'))).cache).toBe('hit');
    expect((await bulwark.chat(ask('where is the library'))).cache).toBe('hit');
    await exact.flush();
    expect(exact.stats().stores).toBe(1);
    expect(mock.callCount).toBe(1);
  });

  it('rejects bad options with errors naming them', () => {
    expect(() => createSemanticCache({ embed: deterministicEmbed, threshold: 1.5 })).toThrow(/threshold/);
    expect(() => createSemanticCache({ embed: 'no' as never })).toThrow(/embed/);
    expect(() => createMemoryVectorIndex({ maxPartitions: 0 })).toThrow(/maxPartitions/);
  });
});

describe('createMemoryVectorIndex', () => {
  it('finds the most similar entry above the minimum score, within its partition only', () => {
    const index = createMemoryVectorIndex();
    const value = new Uint8Array([1]);
    index.add('p', { vector: normalize([1, 0, 0]), text: 'x', value, ttlMs: 1_000 });
    index.add('p', { vector: normalize([1, 1, 0]), text: 'xy', value, ttlMs: 1_000 });
    index.add('q', { vector: normalize([0, 1, 0]), text: 'y', value, ttlMs: 1_000 });
    expect(index.search('p', normalize([0.9, 1, 0]), 0.5)).toMatchObject({ text: 'xy' });
    expect(index.search('p', normalize([0, 0, 1]), 0.5)).toBeUndefined();
    expect(index.search('r', normalize([1, 0, 0]), 0)).toBeUndefined();
  });

  it('stays within its bounds', () => {
    const index = createMemoryVectorIndex({ maxEntriesPerPartition: 2, maxPartitions: 2 });
    for (const partition of ['a', 'b', 'c']) {
      for (let entry = 0; entry < 3; entry += 1) {
        index.add(partition, {
          vector: normalize([entry + 1, 1]),
          text: `${entry}`,
          value: new Uint8Array(1),
          ttlMs: 1_000,
        });
      }
    }
    expect(index.size).toBe(4);
    expect(index.search('a', normalize([1, 1]), 0)).toBeUndefined();
  });
});
