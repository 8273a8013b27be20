import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeUpstream, type FakeUpstream, type TestRedis, useTestRedis } from '@bulwark/testkit';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, type RunningCli, serveCli } from './test-helpers/spawn-cli.js';

let redis: TestRedis;
let upstream: FakeUpstream;
const gateways: RunningCli[] = [];

beforeAll(async () => {
  redis = await useTestRedis();
  upstream = await createFakeUpstream();
  const file = join(mkdtempSync(join(tmpdir(), 'bulwark-redis-')), 'shared.yaml');
  writeFileSync(
    file,
    [
      'providers:',
      `  main: { plugin: openai, baseURL: "${upstream.openaiBaseURL}", apiKey: sk-test-shared-0000, limits: { rpm: 6, requestBurst: 3 } }`,
      `  warm: { plugin: openai, baseURL: "${upstream.openaiBaseURL}", apiKey: sk-test-shared-0000, limits: { rpm: 6000 } }`,
      'models:',
      '  smart: [{ provider: main, model: gpt-4o }]',
      '  warm: [{ provider: warm, model: gpt-4o }]',
      'retry: false',
      // One idiom for every section that keeps state: store: { plugin, url, prefix }.
      // A lookup slower than its budget is a miss by design; on a loaded CI machine 50 ms is not enough.
      `cache: { store: { plugin: redis, url: "${redis.url}", prefix: "${redis.prefix}cache:", lookupTimeoutMs: 2000 }, ttlSeconds: 60 }`,
      `limiter: { store: { plugin: redis, url: "${redis.url}", prefix: "${redis.prefix}", failMode: closed }, maxWaitMs: 0 }`,
      `breaker: { store: { plugin: redis, url: "${redis.url}", prefix: "${redis.prefix}" }, failureThreshold: 50 }`,
      `budget: { store: { plugin: redis, url: "${redis.url}", prefix: "${redis.prefix}" }, budgets: [{ scope: global, window: day, limitUsd: 100 }] }`,
    ].join('\n'),
  );
  for (let index = 0; index < 2; index += 1)
    gateways.push(await serveCli(['--config', file, '--port', '0'], cleanEnv()));
});

afterAll(async () => {
  for (const gateway of gateways) {
    gateway.child.kill('SIGTERM');
    await gateway.exited;
  }
  await upstream?.close();
  await redis?.stop();
});

describe('two gateway processes sharing Redis', () => {
  it('report Redis in /readyz', async () => {
    for (const gateway of gateways) expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
  });

  it('share the cache and the rate limit', async () => {
    const [first, second] = gateways.map(
      (gateway) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'none', maxRetries: 0 }),
    );
    // The limiter fails closed: a Redis command that times out on a loaded machine answers 429
    // "unavailable" without spending the limit; ask again then, so only real limit decisions count.
    const ask = async (client: OpenAI, content: string, model = 'smart') => {
      for (let attempt = 0; ; attempt += 1) {
        try {
          return await client.chat.completions
            .create({ model, temperature: 0, messages: [{ role: 'user', content }] })
            .withResponse();
        } catch (error) {
          const unavailable = error instanceof OpenAI.RateLimitError && error.message.includes('unavailable');
          if (!unavailable || attempt > 50) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    };
    // Let each process's Redis client connect, through a generous limit.
    for (const client of [first!, second!]) await ask(client, 'warm up', 'warm');
    upstream.reset();

    const cached = async () => {
      const admin = new Redis(redis.url);
      try {
        return (await admin.keys(`${redis.prefix}cache:*`)).length;
      } finally {
        admin.disconnect();
      }
    };
    const before = await cached();
    const miss = await ask(first!, 'shared question');
    expect(miss.response.headers.get('x-bulwark-cache')).toBe('miss');
    // The answer is stored in the background after it is sent: wait until the entry is in Redis.
    for (let wait = 0; (await cached()) === before && wait < 100; wait += 1)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const hit = await ask(second!, 'shared question');
    expect(hit.response.headers.get('x-bulwark-cache')).toBe('hit');
    expect(hit.data.choices[0]!.message.content).toBe('echo: shared question');
    expect(upstream.requests).toHaveLength(1);

    // The burst is 3 requests for both processes together; one is spent. Alternate between them.
    const outcomes: string[] = [];
    for (let call = 0; call < 6; call += 1) {
      const client = call % 2 === 0 ? second! : first!;
      outcomes.push(
        await ask(client, `distinct ${call}`).then(
          () => 'ok',
          (error: unknown) => (error instanceof OpenAI.RateLimitError ? 'limited' : String(error)),
        ),
      );
    }
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(2);
    expect(outcomes.filter((outcome) => outcome === 'limited')).toHaveLength(4);
    expect(upstream.requests).toHaveLength(3);
  });

  it('keep the limiter, breaker and budget state in Redis under one prefix', async () => {
    const admin = new Redis(redis.url);
    try {
      const keys = (await admin.keys(`${redis.prefix}*`)).map((key) => key.slice(redis.prefix.length));
      // Each store adds its role to the one prefix; the cache has its own (cache:).
      expect(keys).toContain('limiter:v1:{main/gpt-4o}:requests');
      expect(keys).toContain('breaker:v1:{main/gpt-4o}');
      const spend = keys.filter((key) => key.startsWith('spend:{budget}:v1:global-day:'));
      expect(spend).toHaveLength(1);
      // One counter (nano-USD) for the calls both processes served.
      expect(Number(await admin.get(`${redis.prefix}${spend[0]}`))).toBeGreaterThan(0);
      expect(keys.some((key) => key.startsWith('cache:'))).toBe(true);
    } finally {
      admin.disconnect();
    }
  });
});
