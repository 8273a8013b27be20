import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeUpstream, type FakeUpstream, type TestRedis, useTestRedis } from '@bulwark/testkit';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfigInput } from '../config/config-schema.js';
import { validateGatewayConfig } from '../config/load-config.js';
import { createGateway, type Gateway } from '../gateway.js';
import { keysHashOf } from './key-source.js';
import { createKey, revokeKeys } from './keys-command.js';

let redis: TestRedis;
let upstream: FakeUpstream;
let directory: string;

beforeAll(async () => {
  redis = await useTestRedis();
  upstream = await createFakeUpstream();
  directory = mkdtempSync(join(tmpdir(), 'bulwark-key-source-'));
});

afterAll(async () => {
  await upstream?.close();
  await redis?.stop();
  rmSync(directory, { recursive: true, force: true });
});

const configWith = (source: Record<string, unknown>): GatewayConfigInput => ({
  server: { port: 0 },
  auth: { keys: [{ key: 'sk-config-admin-0001', tenant: 'ops' }], source: source as never },
  providers: { gpt: { plugin: 'openai', baseURL: upstream.openaiBaseURL, apiKey: 'sk-upstream-000000' } },
  models: {
    smart: [{ provider: 'gpt', model: 'gpt-4o' }],
    cheap: [{ provider: 'gpt', model: 'gpt-4o-mini' }],
  },
  cache: false,
  log: { level: 'error', requests: false },
});

const status = async (url: string, key: string, model = 'smart'): Promise<number> => {
  try {
    await new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 }).chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'hi' }],
    });
    return 200;
  } catch (error) {
    if (error instanceof OpenAI.APIError && error.status !== undefined) return error.status;
    throw error;
  }
};

/** Milliseconds until every gateway answers `expected` for the key (checked every 25 ms, up to 3 s). */
async function timeUntil(urls: readonly string[], key: string, expected: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const seen = await Promise.all(urls.map((url) => status(url, key)));
    if (seen.every((code) => code === expected)) return performance.now() - started;
    if (performance.now() - started > 3000) throw new Error(`still ${seen.join(', ')} after 3 s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('keys from a Redis hash', () => {
  it('a key made by `keys create` works on every replica; revoked, it stops within a second on each', async () => {
    const input = configWith({ plugin: 'redis', url: redis.url, prefix: redis.prefix, refreshMs: 200 });
    const gateways: Gateway[] = [];
    try {
      for (let index = 0; index < 2; index += 1) gateways.push(await createGateway({ config: input }));
      const urls = await Promise.all(gateways.map((gateway) => gateway.listen()));
      const config = validateGatewayConfig(input);

      const key = await createKey(config, { tenant: 'team-a', models: ['smart'], limits: { rpm: 600 } });
      expect(key).toMatch(/^sk-bw-[A-Za-z0-9_-]{32}$/);
      // Only the SHA-256 and the entry are stored.
      const admin = new Redis(redis.url);
      try {
        const stored = await admin.hgetall(keysHashOf(redis.prefix));
        expect(Object.keys(stored)).toEqual([createHash('sha256').update(key).digest('hex')]);
        expect(JSON.stringify(stored)).not.toContain(key);
        expect(JSON.parse(Object.values(stored)[0]!)).toEqual({
          tenant: 'team-a',
          models: ['smart'],
          limits: { rpm: 600 },
        });
      } finally {
        admin.disconnect();
      }
      await expect(createKey(config, { tenant: 'team-a' })).rejects.toThrow(/already has a key/);

      expect(await timeUntil(urls, key, 200)).toBeLessThan(1000);
      // Its models hold: another alias is a 403.
      expect(await status(urls[0]!, key, 'cheap')).toBe(403);
      // The config file's key still works beside the source's.
      expect(await status(urls[1]!, 'sk-config-admin-0001')).toBe(200);

      expect(await revokeKeys(config, 'team-a')).toBe(1);
      const revokedAfterMs = await timeUntil(urls, key, 401);
      expect(revokedAfterMs).toBeLessThan(1000);
    } finally {
      for (const gateway of gateways) await gateway.close({ drainTimeoutMs: 0 });
    }
  });

  it('a gateway does not start when its key source cannot be read', async () => {
    await expect(
      createGateway({ config: configWith({ plugin: 'redis', url: 'redis://127.0.0.1:1', prefix: 'x:' }) }),
    ).rejects.toThrow();
  });
});

describe('keys from a file', () => {
  it('picks up a created key and drops a revoked one without a restart', async () => {
    const path = join(directory, 'keys.yaml');
    const input = configWith({ plugin: 'file', path, refreshMs: 100 });
    const config = validateGatewayConfig(input);
    await createKey(config, { tenant: 'seed' });
    const gateway = await createGateway({ config: input });
    try {
      const url = await gateway.listen();
      const key = await createKey(config, { tenant: 'team-b', expiresAt: '2099-01-01T00:00:00Z' });
      expect(readFileSync(path, 'utf8')).not.toContain(key);
      expect(await timeUntil([url], key, 200)).toBeLessThan(1000);
      expect(await revokeKeys(config, 'team-b')).toBe(1);
      expect(await timeUntil([url], key, 401)).toBeLessThan(1000);
    } finally {
      await gateway.close({ drainTimeoutMs: 0 });
    }
  });
});
