import Anthropic from '@anthropic-ai/sdk';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from './gateway.js';

let upstream: FakeUpstream;
let gateway: Gateway;
let teamA: OpenAI;
let teamB: OpenAI;

beforeAll(async () => {
  upstream = await createFakeUpstream();
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      auth: {
        keys: [
          { key: 'key-of-team-a-123', name: 'a' },
          { key: 'key-of-team-b-456', name: 'b' },
        ],
      },
      providers: {
        // Translated calls share entries across formats and stream/plain; a passthrough call's entry is
        // its own bytes (gateway-passthrough.test.ts).
        main: {
          plugin: 'openai',
          baseURL: upstream.openaiBaseURL,
          apiKey: 'sk-test-cache-0000',
          passthrough: false,
        },
      },
      models: { smart: [{ provider: 'main', model: 'gpt-4o' }] },
      cache: { plugin: 'memory', ttlSeconds: 60 },
      log: { level: 'error' },
    },
  });
  const url = await gateway.listen();
  teamA = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'key-of-team-a-123', maxRetries: 0 });
  teamB = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'key-of-team-b-456', maxRetries: 0 });
});

afterEach(() => upstream.reset());

afterAll(async () => {
  await gateway.close({ drainTimeoutMs: 0 });
  await upstream.close();
});

const ask = (client: OpenAI, content: string, temperature = 0, headers?: Record<string, string>) =>
  client.chat.completions
    .create(
      { model: 'smart', temperature, messages: [{ role: 'user', content }] },
      headers ? { headers } : {},
    )
    .withResponse();

describe('cache', () => {
  it('hits on a repeat and misses on a changed temperature', async () => {
    const first = await ask(teamA, 'cache me');
    expect(first.response.headers.get('x-bulwark-cache')).toBe('miss');
    const second = await ask(teamA, 'cache me');
    expect(second.response.headers.get('x-bulwark-cache')).toBe('hit');
    expect(second.response.headers.get('x-bulwark-attempts')).toBe('0');
    expect(second.data.choices[0]!.message.content).toBe('echo: cache me');
    const warmer = await ask(teamA, 'cache me', 0.7);
    expect(warmer.response.headers.get('x-bulwark-cache')).toBe('miss');
    expect(upstream.requests).toHaveLength(2);
  });

  it('replays a cached answer as a stream, in either format', async () => {
    await ask(teamA, 'stream me later');
    const stream = await teamA.chat.completions.create({
      model: 'smart',
      temperature: 0,
      messages: [{ role: 'user', content: 'stream me later' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: stream me later');
    expect(upstream.requests).toHaveLength(1);
    const anthropic = new Anthropic({ baseURL: gateway.url!, apiKey: 'key-of-team-a-123', maxRetries: 0 });
    const message = await anthropic.messages.create({
      model: 'smart',
      max_tokens: 64,
      temperature: 0,
      messages: [{ role: 'user', content: 'same for claude' }],
    });
    const again = await anthropic.messages.create({
      model: 'smart',
      max_tokens: 64,
      temperature: 0,
      messages: [{ role: 'user', content: 'same for claude' }],
    });
    expect(again.content).toEqual(message.content);
    expect(upstream.requests).toHaveLength(2);
  });

  it("keeps one namespace per caller's key", async () => {
    await ask(teamA, 'private answer');
    const other = await ask(teamB, 'private answer');
    expect(other.response.headers.get('x-bulwark-cache')).toBe('miss');
    expect(upstream.requests).toHaveLength(2);
  });

  it('obeys x-bulwark-cache: no-cache and no-store, and rejects a bad header', async () => {
    await ask(teamA, 'directives');
    const fresh = await ask(teamA, 'directives', 0, { 'x-bulwark-cache': 'no-cache' });
    expect(fresh.response.headers.get('x-bulwark-cache')).not.toBe('hit');
    expect(upstream.requests).toHaveLength(2);
    await ask(teamA, 'never stored', 0, { 'x-bulwark-cache': 'no-store' });
    const after = await ask(teamA, 'never stored');
    expect(after.response.headers.get('x-bulwark-cache')).toBe('miss');
    const error = await ask(teamA, 'x', 0, { 'x-bulwark-cache': 'sometimes' }).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('x-bulwark-cache');
  });
});
