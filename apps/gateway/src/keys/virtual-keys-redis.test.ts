import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeUpstream, type FakeUpstream, type TestRedis, useTestRedis } from '@bulwark/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, type RunningCli, serveCli } from '../test-helpers/spawn-cli.js';

const limitedKey = 'sk-team-a-limited-0001';
const budgetKey = 'sk-team-b-budget-0002';
const warmKey = 'sk-team-w-warm-0003';

let redis: TestRedis;
let upstream: FakeUpstream;
let directory: string;
const gateways: RunningCli[] = [];

beforeAll(async () => {
  redis = await useTestRedis();
  // gpt-4o at $2.50 in / $10 out per million: each answer (1,000 in, 1,000 out) costs $0.0125.
  upstream = await createFakeUpstream({
    defaultBehavior: { kind: 'reply', usage: { inputTokens: 1000, outputTokens: 1000 } },
  });
  directory = mkdtempSync(join(tmpdir(), 'bulwark-keys-redis-'));
  const file = join(directory, 'keys.yaml');
  writeFileSync(
    file,
    [
      'auth:',
      '  keys:',
      // rpm 6: one call back to back, then one every 10 s — for both processes together.
      `    - { key: ${limitedKey}, tenant: team-a, limits: { rpm: 6 } }`,
      // $0.02 a day: one $0.0125 call, then the next reservation (~$0.01) would go over.
      `    - { key: ${budgetKey}, tenant: team-b, budget: { limitUsd: 0.02, window: day } }`,
      `    - { key: ${warmKey}, tenant: team-w }`,
      'providers:',
      `  gpt: { plugin: openai, baseURL: "${upstream.openaiBaseURL}", apiKey: sk-test-keys-0000 }`,
      'models:',
      '  smart: [{ provider: gpt, model: gpt-4o }]',
      'retry: false',
      'cache: false',
      'log: { level: error, requests: false }',
      `limiter: { store: { plugin: redis, url: "${redis.url}", prefix: "${redis.prefix}", failMode: closed } }`,
      `budget: { store: { plugin: redis, url: "${redis.url}", prefix: "${redis.prefix}" } }`,
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
  rmSync(directory, { recursive: true, force: true });
});

/** A call; a fail-closed 429 "unavailable" (a Redis command slow on a loaded machine) is asked again. */
async function ask(url: string, apiKey: string): Promise<unknown> {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await client.chat.completions.create({
        model: 'smart',
        max_tokens: 1000,
        messages: [{ role: 'user', content: 'hi' }],
      });
    } catch (error) {
      const unavailable = error instanceof OpenAI.RateLimitError && error.message.includes('unavailable');
      if (!unavailable || attempt > 50) return error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('virtual keys on two gateway processes sharing Redis', () => {
  it("share a key's rate limit and its budget", async () => {
    const [first, second] = gateways.map((gateway) => gateway.url);
    // Let each process's Redis clients connect.
    for (const url of [first!, second!]) expect(await ask(url, warmKey)).not.toBeInstanceOf(Error);

    expect(await ask(first!, limitedKey)).not.toBeInstanceOf(Error);
    const limited = await ask(second!, limitedKey);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    const retryAfterMs = Number(
      (limited as InstanceType<typeof OpenAI.APIError>).headers!.get('retry-after-ms'),
    );
    expect(retryAfterMs).toBeGreaterThan(5_000);
    expect(retryAfterMs).toBeLessThanOrEqual(10_000);
    // Another key is not held back by it, on either process.
    expect(await ask(second!, warmKey)).not.toBeInstanceOf(Error);

    expect(await ask(second!, budgetKey)).not.toBeInstanceOf(Error);
    const overBudget = await ask(first!, budgetKey);
    expect(overBudget).toBeInstanceOf(OpenAI.APIError);
    expect((overBudget as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect((overBudget as InstanceType<typeof OpenAI.APIError>).message).toContain('key-team-b-day');
  });
});
