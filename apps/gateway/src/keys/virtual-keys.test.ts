import { createHash } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { createFakeUpstream, type FakeUpstream } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../config/load-config.js';
import { createGateway, type Gateway } from '../gateway.js';

const smartKey = 'sk-team-a-smart-only-0001';
const hashedKey = 'sk-team-b-hashed-0002';
const limitedKey = 'sk-team-c-limited-0003';
const expiredKey = 'sk-team-d-expired-0004';
const singleKey = 'sk-team-e-single-0005';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

let upstream: FakeUpstream;
let gateway: Gateway;
let url: string;

beforeAll(async () => {
  upstream = await createFakeUpstream();
  gateway = await createGateway({
    config: {
      server: { port: 0 },
      auth: {
        keys: [
          { key: smartKey, tenant: 'team-a', models: ['smart'] },
          { keyHash: sha256(hashedKey), tenant: 'team-b', models: ['gpt/*', 'fast'] },
          // rpm 6: one call back to back, then one every 10 s.
          { key: limitedKey, name: 'team-c', limits: { rpm: 6 } },
          { key: expiredKey, tenant: 'team-d', expiresAt: '2020-01-01T00:00:00Z' },
          { key: singleKey, tenant: 'team-e', models: ['smart'], limits: { concurrency: 1 } },
        ],
      },
      providers: {
        gpt: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: 'sk-upstream-000000' },
      },
      models: {
        smart: [{ provider: 'gpt', model: 'gpt-4o' }],
        fast: [{ provider: 'gpt', model: 'gpt-4o-mini' }],
        cheap: [{ provider: 'gpt', model: 'gpt-4o-mini' }],
      },
      cache: false,
      log: { level: 'error', requests: false },
    },
  });
  url = await gateway.listen();
});

afterAll(async () => {
  await gateway?.close({ drainTimeoutMs: 0 });
  await upstream?.close();
});

const openaiWith = (apiKey: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
const ask = (apiKey: string, model: string) =>
  openaiWith(apiKey).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });

describe('virtual keys', () => {
  it('a key reaches only its models: another is a 403 naming the model, in either format', async () => {
    await expect(ask(smartKey, 'smart')).resolves.toMatchObject({
      choices: [{ message: { content: 'echo: hi' } }],
    });
    const refused = await ask(smartKey, 'cheap').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).message).toContain('"cheap"');
    const passThrough = await ask(smartKey, 'gpt/gpt-4o').catch((error: unknown) => error);
    expect(passThrough).toBeInstanceOf(OpenAI.PermissionDeniedError);

    const anthropic = new Anthropic({ baseURL: url, apiKey: smartKey, maxRetries: 0 });
    const refusedThere = await anthropic.messages
      .create({ model: 'cheap', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
      .catch((error: unknown) => error);
    expect(refusedThere).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((refusedThere as { error: { error: { message: string } } }).error.error.message).toBe(
      'This key may not use model "cheap"',
    );
    // The other routes hold the key to its models too.
    const embedding = await openaiWith(smartKey)
      .embeddings.create({ model: 'cheap', input: 'hi' })
      .catch((error: unknown) => error);
    expect(embedding).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((embedding as InstanceType<typeof OpenAI.APIError>).message).toContain('"cheap"');
    expect(upstream.requests).toHaveLength(1);
  });

  it('a key given by its SHA-256 works, and provider/model patterns match pass-through models', async () => {
    await expect(ask(hashedKey, 'gpt/gpt-4o')).resolves.toBeDefined();
    await expect(ask(hashedKey, 'gpt-4o')).resolves.toBeDefined();
    await expect(ask(hashedKey, 'fast')).resolves.toBeDefined();
    await expect(ask(hashedKey, 'smart')).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
  });

  it('/v1/models lists only what the key may use', async () => {
    const ids = async (apiKey: string) =>
      (await openaiWith(apiKey).models.list()).data.map((model) => model.id);
    expect(await ids(smartKey)).toEqual(['smart']);
    expect(await ids(hashedKey)).toEqual(['fast']);
    expect(await ids(limitedKey)).toEqual(['smart', 'fast', 'cheap']);
  });

  it('an expired key is refused like a wrong one', async () => {
    await expect(ask(expiredKey, 'smart')).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("a key over its own rpm gets a 429 with the limiter's retry-after; other keys are not slowed", async () => {
    await expect(ask(limitedKey, 'smart')).resolves.toBeDefined();
    const over = await openaiWith(limitedKey)
      .chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse()
      .catch((error: unknown) => error);
    expect(over).toBeInstanceOf(OpenAI.RateLimitError);
    const headers = (over as InstanceType<typeof OpenAI.APIError>).headers!;
    // One request every 10 s: the next slot is about 10 s away (less the few ms this test took).
    const retryAfterMs = Number(headers.get('retry-after-ms'));
    expect(retryAfterMs).toBeGreaterThan(8_000);
    expect(retryAfterMs).toBeLessThanOrEqual(10_000);
    expect(headers.get('retry-after')).toBe('10');
    await expect(ask(smartKey, 'smart')).resolves.toBeDefined();
  });
});

describe('a key concurrency limit', () => {
  it('refuses a second call in flight with a 429 while the first runs, then serves again', async () => {
    upstream.enqueue({ kind: 'delay', ms: 400 });
    const first = ask(singleKey, 'smart');
    // Let the first call reach the upstream.
    for (let waited = 0; upstream.activeRequests() === 0 && waited < 2000; waited += 10)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(ask(singleKey, 'smart')).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    // Another key is not held by it.
    await expect(ask(smartKey, 'smart')).resolves.toBeDefined();
    await expect(first).resolves.toBeDefined();
    await expect(ask(singleKey, 'smart')).resolves.toBeDefined();
  });
});

describe('virtual key config', () => {
  const base = { providers: { gpt: { plugin: 'openai', apiKey: 'sk-upstream-000000' } } };
  it('needs exactly one of key and keyHash, a 64-digit hash, and a date for expiresAt', () => {
    expect(() => validateGatewayConfig({ ...base, auth: { keys: [{ tenant: 'a' }] } })).toThrow(
      /key or keyHash/,
    );
    expect(() =>
      validateGatewayConfig({ ...base, auth: { keys: [{ key: smartKey, keyHash: sha256(smartKey) }] } }),
    ).toThrow(/key or keyHash/);
    expect(() => validateGatewayConfig({ ...base, auth: { keys: [{ keyHash: 'abc' }] } })).toThrow(/64 hex/);
    expect(() =>
      validateGatewayConfig({ ...base, auth: { keys: [{ key: smartKey, expiresAt: 'soon' }] } }),
    ).toThrow(/expiresAt/);
  });
  it('refuses a key listed once in clear and once by its hash', () => {
    expect(() =>
      validateGatewayConfig({
        ...base,
        auth: {
          keys: [
            { key: smartKey, tenant: 'a' },
            { keyHash: sha256(smartKey), tenant: 'b' },
          ],
        },
      }),
    ).toThrow(/same key/);
  });
});

describe('a key budget', () => {
  it("refuses the key's calls once its day is spent (402), other keys go on", async () => {
    // gpt-4o at $2.50 in / $10 out per million: each answer (1,000 in, 1,000 out) costs $0.0125 and
    // reserves about $0.01 first. A $0.02 day serves one call and refuses the second.
    const priced = await createFakeUpstream({
      defaultBehavior: { kind: 'reply', usage: { inputTokens: 1000, outputTokens: 1000 } },
    });
    const budgeted = await createGateway({
      config: {
        server: { port: 0 },
        auth: {
          keys: [
            { key: smartKey, tenant: 'team-a', budget: { limitUsd: 0.02, window: 'day' } },
            { key: hashedKey, tenant: 'team-b' },
          ],
        },
        providers: { gpt: { plugin: 'openai', baseURL: priced.openaiBaseURL, apiKey: 'sk-upstream-000000' } },
        models: { smart: [{ provider: 'gpt', model: 'gpt-4o' }] },
        cache: false,
        log: { level: 'error', requests: false },
      },
    });
    try {
      const base = await budgeted.listen();
      const call = (apiKey: string) =>
        new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 }).chat.completions.create({
          model: 'smart',
          max_tokens: 1000,
          messages: [{ role: 'user', content: 'hi' }],
        });
      await expect(call(smartKey)).resolves.toBeDefined();
      const refused = await call(smartKey).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(OpenAI.APIError);
      expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
      expect((refused as InstanceType<typeof OpenAI.APIError>).message).toContain('key-team-a-day');
      await expect(call(hashedKey)).resolves.toBeDefined();
      await expect(call(hashedKey)).resolves.toBeDefined();
      expect(priced.requests).toHaveLength(3);
    } finally {
      await budgeted.close({ drainTimeoutMs: 0 });
      await priced.close();
    }
  });

  it('is refused with budget: false', async () => {
    await expect(
      createGateway({
        config: {
          auth: { keys: [{ key: smartKey, budget: { limitUsd: 1 } }] },
          providers: { gpt: { plugin: 'openai', apiKey: 'sk-upstream-000000' } },
          budget: false,
        },
      }),
    ).rejects.toThrow(/auth\.keys\[0\]\.budget needs the budget middleware/);
  });
});
