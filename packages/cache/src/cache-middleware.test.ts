import { createMemoryCache, plugin as memoryPlugin } from '@bulwark/cache-memory';
import {
  type CacheBackendV1,
  type ChatRequest,
  type ChatResponse,
  createBulwark,
  createEventBus,
  createPluginRegistry,
  createVirtualClock,
  type MiddlewareV1,
  type ProviderV1,
  type StreamEvent,
  type VirtualClock,
} from '@bulwark/core';
import { createMockProvider, type MockProviderOptions } from '@bulwark/provider-mock';
import { describe, expect, it } from 'vitest';
import { type CacheOptions, createCache, maxTtlSeconds } from './cache-middleware.js';
import { canonicalJson } from './canonical-json.js';
import { plugin } from './plugin.js';

const ask = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'mock-1',
  messages: [{ role: 'user', content: text }],
  temperature: 0,
  ...extra,
});

function setup(
  options: { cache?: Partial<CacheOptions>; mock?: MockProviderOptions; clock?: VirtualClock } = {},
) {
  const clock = options.clock ?? createVirtualClock();
  const events = createEventBus();
  const backend = createMemoryCache({ clock });
  const cache = createCache({ backend, ...options.cache });
  const mock = createMockProvider({ clock, ...options.mock });
  const bulwark = createBulwark({ providers: [mock], middleware: [cache], clock, events });
  const seen: Array<{ name: string; payload: Record<string, unknown> }> = [];
  events.onAny((name, payload) => seen.push({ name, payload: payload as Record<string, unknown> }));
  return { clock, events, backend, cache, mock, bulwark, seen };
}

async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('createCache: hits and misses', () => {
  it('serves a repeated request from the cache without calling the provider', async () => {
    const { bulwark, mock, cache } = setup();
    const first = await bulwark.chat(ask('What is a bulwark?'));
    await cache.flush();
    const second = await bulwark.chat(ask('What is a bulwark?'));
    expect(mock.callCount).toBe(1);
    expect(first.cache).toBe('miss');
    expect(second.cache).toBe('hit');
    expect(second.text).toBe(first.text);
    expect(second.usage).toEqual(first.usage);
    expect(second.attempts).toEqual([]);
    const stats = cache.stats();
    expect(stats).toMatchObject({ hits: 1, misses: 1, stores: 1 });
    expect(stats.bytesServed).toBeGreaterThan(first.text.length);
  });

  it('reports hit, miss and bypass in events, with the bytes a hit served', async () => {
    const { bulwark, cache, seen } = setup();
    await bulwark.chat(ask('events'));
    await cache.flush();
    await bulwark.chat(ask('events'));
    await bulwark.chat(ask('events'), { cache: { noCache: true } });
    const lookups = seen.filter((event) => event.name === 'cache:lookup').map((event) => event.payload);
    expect(lookups.map((payload) => payload.status)).toEqual(['miss', 'hit', 'bypass']);
    expect(lookups[1]!.bytes).toBeGreaterThan(0);
    expect(lookups[2]!.reason).toBe('no-cache');
    const stores = seen.filter((event) => event.name === 'cache:store').map((event) => event.payload);
    expect(stores[0]).toMatchObject({ stored: true });
    const ends = seen.filter((event) => event.name === 'call:end').map((event) => event.payload.cache);
    expect(ends).toEqual(['miss', 'hit', 'bypass']);
  });

  it('never reaches the middleware below on a hit', async () => {
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock });
    let below = 0;
    const budget: MiddlewareV1 = {
      specificationVersion: 'v1',
      name: 'count',
      stage: 'budget',
      complete(request, context, next) {
        below += 1;
        return next(request, context);
      },
    };
    const cache = createCache({ backend: createMemoryCache({ clock }) });
    const bulwark = createBulwark({ providers: [mock], middleware: [cache, budget], clock });
    await bulwark.chat(ask('quota'));
    await bulwark.chat(ask('quota'));
    expect(below).toBe(1);
  });
});

describe('createCache: the key', () => {
  const base: ChatRequest = {
    model: 'mock-1',
    messages: [
      { role: 'system', content: 'You are terse.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Describe' },
          { type: 'image', url: 'https://example.com/a.png' },
        ],
        name: 'ann',
      },
      { role: 'assistant', content: null, toolCalls: [{ id: 'c1', name: 'lookup', arguments: '{"q":"x"}' }] },
      { role: 'tool', toolCallId: 'c1', content: 'result' },
      { role: 'user', content: 'Go on' },
    ],
    tools: [
      {
        name: 'lookup',
        description: 'Looks up',
        parameters: { type: 'object', properties: { q: { type: 'string' } } },
      },
    ],
    toolChoice: 'auto',
    parallelToolCalls: true,
    temperature: 0,
    topP: 1,
    maxTokens: 100,
    stop: ['END'],
    seed: 7,
    responseFormat: {
      type: 'json_schema',
      name: 'answer',
      schema: { type: 'object', properties: { a: { type: 'string' } } },
    },
    providerOptions: { openai: { logprobs: true, nested: { a: 1, b: 2 } } },
    metadata: { user: 'u1' },
  };
  const variants: Array<[string, (request: ChatRequest) => void]> = [
    ['model', (r) => (r.model = 'mock-2')],
    ['system prompt', (r) => (r.messages[0]!.content = 'You are verbose.')],
    [
      'a user text part',
      (r) => ((r.messages[1]!.content as Array<{ text?: string }>)[0]!.text = 'Describe!'),
    ],
    [
      'an image part',
      (r) => ((r.messages[1]!.content as Array<{ url?: string }>)[1]!.url = 'https://example.com/b.png'),
    ],
    ['a participant name', (r) => ((r.messages[1] as { name?: string }).name = 'bob')],
    [
      'an assistant tool call',
      (r) =>
        ((r.messages[2] as { toolCalls: Array<{ arguments: string }> }).toolCalls[0]!.arguments =
          '{"q":"y"}'),
    ],
    ['a tool result', (r) => (r.messages[3]!.content = 'other result')],
    ['the last message', (r) => (r.messages[4]!.content = 'Go on.')],
    ['message order', (r) => r.messages.splice(3, 2, r.messages[4]!, r.messages[3]!)],
    ['a role', (r) => (r.messages[4] = { role: 'assistant', content: 'Go on' })],
    ['tools', (r) => (r.tools![0]!.description = 'Finds')],
    ['tool parameters', (r) => (r.tools![0]!.parameters = { type: 'object' })],
    ['tool choice', (r) => (r.toolChoice = { type: 'tool', name: 'lookup' })],
    ['parallel tool calls', (r) => (r.parallelToolCalls = false)],
    ['temperature', (r) => (r.temperature = 0.5)],
    ['topP', (r) => (r.topP = 0.9)],
    ['maxTokens', (r) => (r.maxTokens = 101)],
    ['stop', (r) => (r.stop = ['STOP'])],
    ['seed', (r) => (r.seed = 8)],
    ['response format', (r) => (r.responseFormat = { type: 'json' })],
    ['providerOptions', (r) => (r.providerOptions!.openai!.logprobs = false)],
    ['nested providerOptions', (r) => ((r.providerOptions!.openai!.nested as { b: number }).b = 3)],
    ['an added provider option', (r) => (r.providerOptions!.anthropic = { thinking: true })],
    ['a removed field', (r) => delete r.seed],
    [
      'a field added later to the request type',
      (r) => ((r as unknown as Record<string, unknown>).reasoningEffort = 'high'),
    ],
  ];

  it.each(variants)('changes when %s changes', (_label, change) => {
    const cache = createCache({ backend: createMemoryCache() });
    const changed = structuredClone(base);
    change(changed);
    expect(cache.keyOf(changed)).not.toBe(cache.keyOf(base));
  });

  it('does not depend on the order of object keys, at any depth', () => {
    const cache = createCache({ backend: createMemoryCache() });
    const reordered = JSON.parse(
      JSON.stringify(base, (_key, value) =>
        value && typeof value === 'object' && !Array.isArray(value)
          ? Object.fromEntries(Object.entries(value).reverse())
          : value,
      ),
    ) as ChatRequest;
    expect(Object.keys(reordered)[0]).toBe('metadata');
    expect(cache.keyOf(reordered)).toBe(cache.keyOf(base));
  });

  it('ignores metadata and undefined members', () => {
    const cache = createCache({ backend: createMemoryCache() });
    expect(cache.keyOf({ ...base, metadata: { user: 'u2' } })).toBe(cache.keyOf(base));
    expect(cache.keyOf({ ...base, metadata: undefined as never })).toBe(cache.keyOf(base));
    const { stop: _stop, ...withoutStop } = base;
    expect(cache.keyOf({ ...withoutStop, stop: undefined } as ChatRequest)).toBe(cache.keyOf(withoutStop));
  });

  it('misses end to end when any one field changes', async () => {
    const { bulwark, mock, cache } = setup();
    await bulwark.chat(base);
    await cache.flush();
    expect((await bulwark.chat(structuredClone(base))).cache).toBe('hit');
    for (const [label, change] of variants.filter(
      ([label]) => label !== 'model' && !label.includes('later'),
    )) {
      const changed = structuredClone(base);
      change(changed);
      const response = await bulwark.chat(changed);
      expect(response.cache, label).toBe('miss');
    }
    expect(mock.callCount).toBe(1 + variants.length - 2);
  });

  it('keys by a mapped model when asked', () => {
    const cache = createCache({
      backend: createMemoryCache(),
      modelKey: (model) => (model === 'alias-b' ? 'alias-a' : model),
    });
    expect(cache.keyOf(ask('x', { model: 'alias-b' }))).toBe(cache.keyOf(ask('x', { model: 'alias-a' })));
  });
});

describe('createCache: tenants', () => {
  it('keeps tenants apart by default', async () => {
    const { bulwark, mock, cache } = setup();
    await bulwark.chat(ask('secret plan'), { metadata: { tenant: 'acme' } });
    await cache.flush();
    const other = await bulwark.chat(ask('secret plan'), { metadata: { tenant: 'globex' } });
    const anonymous = await bulwark.chat(ask('secret plan'));
    const same = await bulwark.chat(ask('secret plan'), { metadata: { tenant: 'acme' } });
    expect([other.cache, anonymous.cache, same.cache]).toEqual(['miss', 'miss', 'hit']);
    expect(mock.callCount).toBe(3);
  });

  it('shares entries across tenants only when configured shared', async () => {
    const { bulwark, mock, cache } = setup({ cache: { shared: true } });
    await bulwark.chat(ask('public fact'), { metadata: { tenant: 'acme' } });
    await cache.flush();
    expect((await bulwark.chat(ask('public fact'), { metadata: { tenant: 'globex' } })).cache).toBe('hit');
    expect(mock.callCount).toBe(1);
  });

  it('clears one tenant only', async () => {
    const { bulwark, cache } = setup();
    await bulwark.chat(ask('q'), { metadata: { tenant: 'acme' } });
    await bulwark.chat(ask('q'), { metadata: { tenant: 'globex' } });
    await cache.flush();
    await cache.clear('acme');
    expect((await bulwark.chat(ask('q'), { metadata: { tenant: 'acme' } })).cache).toBe('miss');
    expect((await bulwark.chat(ask('q'), { metadata: { tenant: 'globex' } })).cache).toBe('hit');
  });
});

describe('createCache: per-call control and policy', () => {
  it('no-cache skips the lookup but stores the answer', async () => {
    const { bulwark, mock, cache } = setup();
    await bulwark.chat(ask('fresh'));
    const refreshed = await bulwark.chat(ask('fresh'), { cache: { noCache: true } });
    expect(refreshed.cache).toBe('bypass');
    expect(mock.callCount).toBe(2);
    await cache.flush();
    expect(cache.stats().stores).toBe(2);
    expect((await bulwark.chat(ask('fresh'))).cache).toBe('hit');
  });

  it('no-store serves a hit but does not store a miss', async () => {
    const { bulwark, mock } = setup();
    const missed = await bulwark.chat(ask('private'), { cache: { noStore: true } });
    expect(missed.cache).toBe('bypass');
    expect((await bulwark.chat(ask('private'))).cache).toBe('miss');
    expect((await bulwark.chat(ask('private'), { cache: { noStore: true } })).cache).toBe('hit');
    expect(mock.callCount).toBe(2);
  });

  it('expires entries after the TTL, overridable per call and per model', async () => {
    const { bulwark, clock } = setup({
      cache: { ttlSeconds: 60, models: { 'mock-long': { ttlSeconds: 600 } } },
    });
    await bulwark.chat(ask('a'));
    await bulwark.chat(ask('b'), { cache: { ttlSeconds: 5 } });
    await bulwark.chat(ask('c', { model: 'mock-long' }));
    await clock.advance(5_001);
    expect((await bulwark.chat(ask('a'))).cache).toBe('hit');
    expect((await bulwark.chat(ask('b'))).cache).toBe('miss');
    await clock.advance(60_000);
    expect((await bulwark.chat(ask('a'))).cache).toBe('miss');
    expect((await bulwark.chat(ask('c', { model: 'mock-long' }))).cache).toBe('hit');
  });

  it('caches only deterministic requests when the policy says so (omitted temperature is not deterministic)', async () => {
    const { bulwark, mock, seen } = setup({ cache: { policy: { deterministicOnly: true } } });
    const { temperature: _temperature, ...noTemperature } = ask('creative');
    for (const request of [ask('creative', { temperature: 0.7 }), noTemperature as ChatRequest]) {
      expect((await bulwark.chat(request)).cache).toBe('bypass');
      expect((await bulwark.chat(request)).cache).toBe('bypass');
    }
    expect((await bulwark.chat(ask('creative', { temperature: 0.7, seed: 1 }))).cache).toBe('miss');
    expect((await bulwark.chat(ask('creative', { temperature: 0.7, seed: 1 }))).cache).toBe('hit');
    expect((await bulwark.chat(ask('exact'))).cache).toBe('miss');
    expect((await bulwark.chat(ask('exact'))).cache).toBe('hit');
    expect(mock.callCount).toBe(6);
    const reasons = seen
      .filter((event) => event.name === 'cache:lookup')
      .map((event) => event.payload.reason);
    expect(reasons[0]).toMatch(/non-deterministic/);
  });

  it('applies a per-model policy over the cache-wide one', async () => {
    const { bulwark, mock } = setup({
      cache: {
        policy: { deterministicOnly: true },
        models: { 'mock-free': { deterministicOnly: false }, 'mock-off': { enabled: false } },
      },
    });
    await bulwark.chat(ask('x', { model: 'mock-free', temperature: 1 }));
    expect((await bulwark.chat(ask('x', { model: 'mock-free', temperature: 1 }))).cache).toBe('hit');
    await bulwark.chat(ask('x', { model: 'mock-off' }));
    expect((await bulwark.chat(ask('x', { model: 'mock-off' }))).cache).toBe('bypass');
    expect(mock.callCount).toBe(3);
  });

  it('does not store answers cut by maxTokens unless allowed', async () => {
    const long = ask('Tell me everything about the history of fortifications', { maxTokens: 2 });
    const strict = setup();
    expect((await strict.bulwark.chat(long)).finishReason).toBe('length');
    expect((await strict.bulwark.chat(long)).cache).toBe('miss');
    expect(strict.seen.find((event) => event.name === 'cache:store')?.payload).toMatchObject({
      stored: false,
      reason: 'finish reason length',
    });
    const lenient = setup({ cache: { policy: { storeFinishReasons: ['stop', 'length'] } } });
    await lenient.bulwark.chat(long);
    expect((await lenient.bulwark.chat(long)).cache).toBe('hit');
  });

  it('bypasses a request whose options cannot be keyed instead of failing it', async () => {
    const { bulwark, seen } = setup();
    const odd = ask('odd', { providerOptions: { mock: { weight: Number.POSITIVE_INFINITY } } });
    const answer = await bulwark.chat(odd);
    expect(answer.cache).toBe('bypass');
    expect(seen.find((event) => event.name === 'cache:lookup')?.payload.reason).toMatch(/cannot be keyed/);
  });

  it('never stores errors', async () => {
    const { bulwark, mock } = setup({ mock: { script: ['server_error'] } });
    await expect(bulwark.chat(ask('flaky'))).rejects.toMatchObject({ code: 'server_error' });
    const answer = await bulwark.chat(ask('flaky'));
    expect(answer.cache).toBe('miss');
    expect(mock.callCount).toBe(2);
  });

  it('rejects a bad TTL with an error naming the option', () => {
    expect(() => createCache({ backend: createMemoryCache(), ttlSeconds: 0 })).toThrow(/ttlSeconds/);
    expect(() => createCache({ backend: createMemoryCache(), models: { m: { ttlSeconds: -1 } } })).toThrow(
      /models\.m\.ttlSeconds/,
    );
    expect(() => createCache({ backend: createMemoryCache(), ttlSeconds: maxTtlSeconds + 1 })).toThrow(
      /ttlSeconds must be a positive number of seconds, at most 31536000/,
    );
    expect(() => createCache({ backend: {} as CacheBackendV1 })).toThrow(/backend/);
    expect(() => createCache({ backend: createMemoryCache(), maxEntryBytes: 1.5 })).toThrow(/maxEntryBytes/);
  });

  it('rejects a bad per-call TTL with a typed error naming the field', async () => {
    const { bulwark, mock } = setup();
    await expect(bulwark.chat(ask('ttl'), { cache: { ttlSeconds: -5 } })).rejects.toMatchObject({
      code: 'invalid_request',
      field: 'cache.ttlSeconds',
    });
    await expect(bulwark.chat(ask('ttl'), { cache: { ttlSeconds: Number.NaN } })).rejects.toMatchObject({
      field: 'cache.ttlSeconds',
    });
    await expect(bulwark.chat(ask('ttl'), { cache: { ttlSeconds: 1e20 } })).rejects.toMatchObject({
      field: 'cache.ttlSeconds',
    });
    await expect(bulwark.chat(ask('ttl'), { cache: { ttlSeconds: maxTtlSeconds } })).resolves.toMatchObject({
      cache: 'miss',
    });
    expect(mock.callCount).toBe(1);
  });
});

describe('createCache: streams', () => {
  it('stores a streamed answer when it completes and replays hits as the same stream', async () => {
    const { bulwark, mock, cache } = setup({ mock: { chunkSize: 5, chunkDelayMs: 10 } });
    const request = ask('Stream me a reasonably long answer please');
    const first = await (bulwark.clock as VirtualClock).run(() => collect(bulwark.stream(request)));
    await cache.flush();
    const second = await collect(bulwark.stream(request));
    expect(mock.callCount).toBe(1);
    expect(first[0]).toMatchObject({ type: 'start', cache: 'miss' });
    expect(second[0]).toMatchObject({ type: 'start', cache: 'hit' });
    const strip = (events: StreamEvent[]) =>
      events.map((event) =>
        event.type === 'start' ? { ...event, cache: undefined, rateLimit: undefined } : event,
      );
    expect(strip(second)).toEqual(strip(first));
    expect(second.filter((event) => event.type === 'text-delta').length).toBeGreaterThan(2);
    const complete = await bulwark.chat(request);
    expect(complete.cache).toBe('hit');
    expect(complete.text).toBe(
      first.map((event) => (event.type === 'text-delta' ? event.text : '')).join(''),
    );
  });

  it('replays a complete answer as a stream with tool calls, usage and finish', async () => {
    const { bulwark } = setup({
      mock: {
        respond: () => ({
          text: 'calling',
          toolCalls: [{ id: 't1', name: 'lookup', arguments: '{"q":1}' }],
          finishReason: 'tool_calls',
        }),
      },
    });
    const stored = await bulwark.chat(ask('tools'));
    const replay = await collect(bulwark.stream(ask('tools')));
    expect(replay.map((event) => event.type)).toEqual([
      'start',
      'text-delta',
      'tool-call-delta',
      'usage',
      'finish',
    ]);
    expect(replay[2]).toMatchObject({ id: 't1', name: 'lookup', argumentsDelta: '{"q":1}' });
    expect(replay.at(-1)).toEqual({ type: 'finish', finishReason: stored.finishReason });
  });

  it('does not store a stream that was cut', async () => {
    const { bulwark, mock, seen } = setup({ mock: { script: [{ streamCutAfter: 1 }], chunkSize: 4 } });
    await expect(collect(bulwark.stream(ask('cut me off')))).rejects.toMatchObject({
      code: 'stream_interrupted',
    });
    expect(seen.some((event) => event.name === 'cache:store')).toBe(false);
    expect((await bulwark.chat(ask('cut me off'))).cache).toBe('miss');
    expect(mock.callCount).toBe(2);
  });

  it('drops its copy of a streamed answer as soon as it outgrows maxEntryBytes', async () => {
    const { bulwark, mock, seen } = setup({
      cache: { maxEntryBytes: 100 },
      mock: { respond: () => ({ text: 'x'.repeat(500) }), chunkSize: 50 },
    });
    let deltas = 0;
    let deltasWhenDropped: number | undefined;
    let text = '';
    for await (const event of bulwark.stream(ask('a long answer'))) {
      if (event.type !== 'text-delta') continue;
      deltas += 1;
      text += event.text;
      deltasWhenDropped ??= seen.some((entry) => entry.name === 'cache:store') ? deltas : undefined;
    }
    expect(text).toBe('x'.repeat(500));
    // Decided at the third of ten chunks (150 characters): nothing holds the rest of the answer.
    expect(deltasWhenDropped).toBe(3);
    const stores = seen.filter((entry) => entry.name === 'cache:store').map((entry) => entry.payload);
    expect(stores).toEqual([
      expect.objectContaining({ stored: false, reason: expect.stringMatching(/exceeds maxEntryBytes 100/) }),
    ]);
    expect((await bulwark.chat(ask('a long answer'))).cache).toBe('miss');
    expect(mock.callCount).toBe(2);
  });

  it('does not store a stream the consumer stopped before its end', async () => {
    const { bulwark, mock } = setup({ mock: { chunkSize: 2 } });
    for await (const event of bulwark.stream(ask('stop early'))) {
      if (event.type === 'text-delta') break;
    }
    expect((await bulwark.chat(ask('stop early'))).cache).toBe('miss');
    expect(mock.callCount).toBe(2);
  });
});

describe('createCache: coalescing', () => {
  it('makes one provider call for identical concurrent misses', async () => {
    const { bulwark, mock, clock, cache, seen } = setup({ mock: { latencyMs: 1_000 } });
    const answers = await clock.run(() =>
      Promise.all(Array.from({ length: 5 }, () => bulwark.chat(ask('popular')))),
    );
    expect(mock.callCount).toBe(1);
    expect(new Set(answers.map((answer) => answer.text)).size).toBe(1);
    expect(answers.every((answer) => answer.cache === 'miss')).toBe(true);
    expect(cache.stats().coalesced).toBe(4);
    expect(seen.filter((event) => event.name === 'cache:coalesced')).toHaveLength(4);
    await cache.flush();
    expect(cache.stats().stores).toBe(1);
  });

  it('does not coalesce requests the policy keeps out of the cache (concurrent random samples stay distinct)', async () => {
    const { bulwark, mock, clock } = setup({
      mock: { latencyMs: 100 },
      cache: { policy: { deterministicOnly: true } },
    });
    await clock.run(() =>
      Promise.all([
        bulwark.chat(ask('sample', { temperature: 1 })),
        bulwark.chat(ask('sample', { temperature: 1 })),
      ]),
    );
    expect(mock.callCount).toBe(2);
    await clock.run(() => Promise.all([bulwark.chat(ask('sample')), bulwark.chat(ask('sample'))]));
    expect(mock.callCount).toBe(3);
  });

  it('shares the failure with every caller and forgets the flight', async () => {
    const { bulwark, mock, clock } = setup({
      mock: { latencyMs: 100, script: [{ error: 'server_error', latencyMs: 100 }] },
    });
    const results = await clock.run(() =>
      Promise.allSettled(Array.from({ length: 3 }, () => bulwark.chat(ask('doomed')))),
    );
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(results.map((result) => (result as PromiseRejectedResult).reason.code)).toEqual([
      'server_error',
      'server_error',
      'server_error',
    ]);
    expect(mock.callCount).toBe(1);
    expect((await clock.run(() => bulwark.chat(ask('doomed')))).cache).toBe('miss');
    expect(mock.callCount).toBe(2);
  });

  it("does not abort the others' call when one caller aborts", async () => {
    const { bulwark, mock, clock } = setup({ mock: { latencyMs: 1_000 } });
    const leaving = new AbortController();
    const results = await clock.run(async () => {
      const first = bulwark.chat(ask('shared'), { signal: leaving.signal });
      const second = bulwark.chat(ask('shared'));
      const third = bulwark.chat(ask('shared'), { timeoutMs: 500 });
      clock.setTimer(200, () => leaving.abort(new Error('user went away')));
      return Promise.allSettled([first, second, third]);
    });
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { code: 'aborted' } });
    expect(results[1]).toMatchObject({ status: 'fulfilled' });
    expect(results[2]).toMatchObject({ status: 'rejected', reason: { code: 'timeout' } });
    expect(mock.callCount).toBe(1);
    expect(mock.calls[0]!.outcome).toBe('success');
  });

  it('aborts the shared call when every caller has left, leaving no timer behind', async () => {
    const { bulwark, mock, clock } = setup({ mock: { latencyMs: 10_000 } });
    const controllers = [new AbortController(), new AbortController()];
    const settled = Promise.allSettled(
      controllers.map((controller) => bulwark.chat(ask('abandoned'), { signal: controller.signal })),
    );
    await clock.advance(100);
    expect(mock.inFlight).toBe(1);
    controllers[0]!.abort();
    await clock.advance(1);
    expect(mock.inFlight).toBe(1);
    controllers[1]!.abort();
    const results = await settled;
    await clock.advance(1);
    expect(results.every((result) => result.status === 'rejected')).toBe(true);
    expect(mock.inFlight).toBe(0);
    expect(mock.calls[0]!.outcome).toBe('aborted');
    expect(clock.pending()).toBe(0);
  });

  it('coalesces streams: every consumer gets the whole stream from one provider call', async () => {
    const { bulwark, mock, clock } = setup({ mock: { latencyMs: 100, chunkDelayMs: 10, chunkSize: 3 } });
    const streams = await clock.run(async () => {
      const early = collect(bulwark.stream(ask('stream together')));
      await clock.sleep(25);
      const late = collect(bulwark.stream(ask('stream together')));
      return Promise.all([early, late]);
    });
    expect(mock.callCount).toBe(1);
    expect(streams[1]).toEqual(streams[0]);
    expect(streams[0]!.at(-1)).toMatchObject({ type: 'finish' });
  });

  it('keeps streaming to the others when one stream consumer stops', async () => {
    const { bulwark, mock, clock } = setup({ mock: { latencyMs: 10, chunkDelayMs: 10, chunkSize: 2 } });
    const [stopped, full] = await clock.run(async () => {
      const quitter = (async () => {
        let count = 0;
        for await (const event of bulwark.stream(ask('long shared stream'))) {
          if (event.type === 'text-delta' && ++count === 2) break;
        }
        return count;
      })();
      return Promise.all([quitter, collect(bulwark.stream(ask('long shared stream')))]);
    });
    expect(stopped).toBe(2);
    expect(full.at(-1)).toMatchObject({ type: 'finish' });
    expect(mock.callCount).toBe(1);
    expect(mock.calls[0]!.outcome).toBe('success');
  });
});

describe('createCache: bad values and failing backends', () => {
  const inlineProvider = (extra: Record<string, unknown>): ProviderV1 => ({
    specificationVersion: 'v1',
    name: 'inline',
    system: 'inline',
    capabilities: { streaming: true, tools: false, vision: false, jsonMode: false },
    async complete(): Promise<ChatResponse> {
      return {
        id: 'r1',
        provider: 'inline',
        model: 'm',
        text: 'hi',
        toolCalls: [],
        finishReason: 'stop',
        attempts: [],
        ...extra,
      };
    },
    async *stream() {
      yield { type: 'start', id: 'r1', provider: 'inline', model: 'm' } as StreamEvent;
    },
  });

  it('does not store an answer that cannot be serialized, and says why', async () => {
    const events = createEventBus();
    const stores: Array<{ stored: boolean; reason?: string }> = [];
    events.on('cache:store', (payload) => stores.push(payload));
    const cache = createCache({ backend: createMemoryCache() });
    const bulwark = createBulwark({
      providers: [inlineProvider({ providerMetadata: { tokens: 10n } })],
      middleware: [cache],
      events,
    });
    const answer = await bulwark.chat(ask('bigint', { model: 'm' }));
    expect(answer.text).toBe('hi');
    expect(stores[0]).toMatchObject({
      stored: false,
      reason: expect.stringMatching(/^unserializable response: .*BigInt/i),
    });
    expect(cache.stats().skippedStores).toBe(1);
  });

  it('treats a corrupt entry as a miss, deletes it and reports it', async () => {
    const { bulwark, backend, cache, seen, mock } = setup();
    const request = ask('corrupt');
    backend.set(
      'anonymous',
      cache.keyOf(request),
      new TextEncoder().encode('{"v":1,"r":{"text":42}}'),
      60_000,
    );
    expect((await bulwark.chat(request)).cache).toBe('miss');
    expect(seen.find((event) => event.name === 'cache:error')?.payload).toMatchObject({
      operation: 'memory:decode',
    });
    await cache.flush();
    expect((await bulwark.chat(request)).cache).toBe('hit');
    backend.set('anonymous', cache.keyOf(request), Uint8Array.from([0xff, 0xfe, 0x00]), 60_000);
    expect((await bulwark.chat(request)).cache).toBe('miss');
    expect(mock.callCount).toBe(2);
  });

  it('lets a caller leave a lookup that hangs', async () => {
    let lookups = 0;
    const hanging: CacheBackendV1 = {
      specificationVersion: 'v1',
      name: 'hanging',
      get: () => {
        lookups += 1;
        return new Promise<undefined>(() => {});
      },
      set: () => {},
      delete: () => false,
      clear: () => {},
    };
    const clock = createVirtualClock();
    const mock = createMockProvider({ clock });
    const bulwark = createBulwark({
      providers: [mock],
      middleware: [createCache({ backend: hanging })],
      clock,
    });
    const outcome = clock.run(() => bulwark.chat(ask('hang'), { timeoutMs: 1_000 }).catch((error) => error));
    expect(await outcome).toMatchObject({ code: 'timeout' });
    expect(lookups).toBe(1);
    expect(mock.callCount).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('keeps calls working when the backend throws', async () => {
    const broken: CacheBackendV1 = {
      specificationVersion: 'v1',
      name: 'broken',
      get: () => Promise.reject(new Error('connection refused')),
      set: () => Promise.reject(new Error('connection refused')),
      delete: () => false,
      clear: () => {},
    };
    const clock = createVirtualClock();
    const cache = createCache({ backend: broken });
    const bulwark = createBulwark({ providers: [createMockProvider({ clock })], middleware: [cache], clock });
    expect((await bulwark.chat(ask('still works'))).text.length).toBeGreaterThan(0);
    expect((await collect(bulwark.stream(ask('still works')))).at(-1)).toMatchObject({ type: 'finish' });
    await cache.flush();
    expect(cache.stats().errors).toBe(4);
  });
});

describe('cache plugin', () => {
  it('creates the middleware and its backend from the gateway config section', async () => {
    const clock = createVirtualClock();
    const registry = createPluginRegistry({ clock });
    registry.register(memoryPlugin, plugin);
    const cache = await registry.create(
      'middleware',
      'cache',
      { plugin: 'memory', ttlSeconds: 60, maxBytes: 1_000_000 },
      'cache',
    );
    expect(cache.stage).toBe('cache');
    const bulwark = createBulwark({ providers: [createMockProvider({ clock })], middleware: [cache], clock });
    await bulwark.chat(ask('plugin'));
    expect((await bulwark.chat(ask('plugin'))).cache).toBe('hit');
    await expect(
      registry.create('middleware', 'cache', { plugin: 'memory', maxBites: 5 }, 'cache'),
    ).rejects.toThrow(/maxBites/);
    await expect(registry.create('middleware', 'cache', { ttlSeconds: 'long' }, 'cache')).rejects.toThrow(
      /cache\.ttlSeconds/,
    );
  });

  it('takes its backend as store: { plugin, … }, the idiom of every section', async () => {
    const clock = createVirtualClock();
    const registry = createPluginRegistry({ clock });
    registry.register(memoryPlugin, plugin);
    const cache = await registry.create(
      'middleware',
      'cache',
      { store: { plugin: 'memory', maxBytes: 1_000_000 }, ttlSeconds: 60 },
      'cache',
    );
    const bulwark = createBulwark({ providers: [createMockProvider({ clock })], middleware: [cache], clock });
    await bulwark.chat(ask('store idiom'));
    expect((await bulwark.chat(ask('store idiom'))).cache).toBe('hit');
    await expect(
      registry.create('middleware', 'cache', { store: { plugin: 'memory', maxBites: 5 } }, 'cache'),
    ).rejects.toThrow(/cache\.store: Unrecognized key: "maxBites"/);
    await expect(
      registry.create('middleware', 'cache', { store: { plugin: 'memory' }, maxBytes: 5 }, 'cache'),
    ).rejects.toThrow(/cache\.maxBytes: with store: \{ plugin, … \}, the backend's options go inside store/);
    await expect(
      registry.create('middleware', 'cache', { store: { plugin: 'redis' } }, 'cache'),
    ).rejects.toThrow(/No cache plugin named "redis"/);
  });
});

describe('canonical keys of hostile requests', () => {
  it('refuses to key a value nested deeper than 256 levels instead of overflowing the stack', async () => {
    const deep = JSON.parse(`${'['.repeat(5000)}${']'.repeat(5000)}`);
    expect(() => canonicalJson({ deep })).toThrow(TypeError);
    expect(() => canonicalJson({ deep })).toThrow(/nested more than 256 levels/);
    expect(canonicalJson(JSON.parse(`${'['.repeat(200)}${']'.repeat(200)}`))).toBe(
      `${'['.repeat(200)}${']'.repeat(200)}`,
    );
  });
});
