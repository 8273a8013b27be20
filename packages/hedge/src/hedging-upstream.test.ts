import { createBulwark, systemClock } from '@bulwark/core';
import { createOpenAIProvider } from '@bulwark/provider-openai';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHedgingRouter } from './hedging-router.js';

/**
 * Real I/O: two OpenAI providers built on the official SDK, each against its own fake upstream on
 * loopback. The point is the loser's socket: it must be closed when the hedge wins.
 */
describe('hedging over real HTTP', () => {
  let slow: FakeUpstream;
  let fast: FakeUpstream;
  beforeAll(async () => {
    slow = await createFakeUpstream();
    fast = await createFakeUpstream();
  });
  afterAll(async () => {
    await Promise.all([slow.close(), fast.close()]);
  });

  function client() {
    const provider = (name: string, upstream: FakeUpstream) =>
      createOpenAIProvider({
        name,
        client: new OpenAI({ apiKey: 'test-key', baseURL: upstream.openaiBaseURL, maxRetries: 0 }),
      });
    return createBulwark({
      providers: [provider('slow', slow), provider('fast', fast)],
      models: {
        chat: [
          { provider: 'slow', model: 'gpt-4o' },
          { provider: 'fast', model: 'gpt-4o-mini' },
        ],
      },
      routing: createHedgingRouter({ delayMs: 100, budget: false }),
      clock: systemClock,
    });
  }

  it('answers from the hedge and closes the slow attempt’s socket', async () => {
    slow.enqueue({ kind: 'hang' });
    const response = await client().chat({ model: 'chat', messages: [{ role: 'user', content: 'ping' }] });
    expect(response.provider).toBe('fast');
    expect(response.text).toBe('echo: ping');
    await slow.waitForConnections(0);
    expect(slow.activeRequests()).toBe(0);
    expect(slow.requests).toHaveLength(1);
    expect(fast.requests.at(-1)?.body).toMatchObject({ model: 'gpt-4o-mini' });
  });

  it('closes the loser’s socket on a streamed call too', async () => {
    slow.enqueue({ kind: 'stall', afterChunks: 1 });
    // biome-ignore lint/suspicious/noThenProperty: `then` of a delay behavior is an object, never a thenable.
    fast.enqueue({ kind: 'delay', ms: 300, then: { kind: 'reply', text: 'fast stream' } });
    let text = '';
    let provider = '';
    for await (const event of client().stream({
      model: 'chat',
      messages: [{ role: 'user', content: 'ping' }],
    })) {
      if (event.type === 'start') provider = event.provider;
      if (event.type === 'text-delta') text += event.text;
    }
    // The slow upstream sent its first chunk (a role-only delta, no content) and stalled: the hedge won.
    expect(provider).toBe('fast');
    expect(text).toBe('fast stream');
    await slow.waitForConnections(0);
  });
});
