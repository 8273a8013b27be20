import { createCache } from '@bulwark/cache';
import { type ChatRequest, createBulwark, createEventBus, type Logger } from '@bulwark/core';
import { createMockProvider } from '@bulwark/provider-mock';
import { describeCacheBackendConformance, freePort, startRedisServer, useTestRedis } from '@bulwark/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plugin } from './plugin.js';
import { createRedisCache, type RedisCacheBackend } from './redis-cache.js';

const testRedis = await useTestRedis();

describeCacheBackendConformance({
  name: 'redis',
  create: async () => {
    const backend = createRedisCache({
      url: testRedis.url,
      prefix: `${testRedis.prefix}conformance:`,
      // The suite checks semantics; a loaded test machine must not turn lookups into timeouts.
      lookupTimeoutMs: 2_000,
      writeTimeoutMs: 2_000,
    });
    expect(await backend.ready(5_000)).toBe(true);
    return backend;
  },
});

function recordingLogger() {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const log =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, ...(fields ? { fields } : {}) });
    };
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  return { logger, lines };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createRedisCache on one Redis', () => {
  let redis: Redis;
  let backend: RedisCacheBackend;
  const events = createEventBus();
  const errors: Array<{ operation: string; error: string }> = [];
  events.on('cache:error', (payload) => errors.push(payload));
  const prefix = `${testRedis.prefix}unit:`;

  beforeAll(async () => {
    redis = new Redis(testRedis.url);
    backend = createRedisCache({
      redis,
      prefix,
      events,
      compressAboveBytes: 100,
      lookupTimeoutMs: 2_000,
      writeTimeoutMs: 2_000,
    });
    expect(await backend.ready(5_000)).toBe(true);
  });

  afterAll(async () => {
    await backend.dispose?.();
    redis.disconnect();
    await testRedis.stop();
  });

  it('stores under the prefix with the TTL set by the same SET', async () => {
    await backend.set('tenant:a', 'k1', new TextEncoder().encode('small'), 30_000);
    const key = `${prefix}tenant%3Aa:k1`;
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    const stored = await redis.getBuffer(key);
    expect(stored![0]).toBe(0);
    expect(stored!.subarray(1).toString()).toBe('small');
  });

  it('compresses values above the threshold and reads them back', async () => {
    const value = new TextEncoder().encode(JSON.stringify({ text: 'bulwark '.repeat(500) }));
    await backend.set('ns', 'big', value, 30_000);
    const stored = await redis.getBuffer(`${prefix}ns:big`);
    expect(stored![0]).toBe(1);
    expect(stored!.byteLength).toBeLessThan(value.byteLength / 5);
    expect(Buffer.from((await backend.get('ns', 'big'))!).equals(Buffer.from(value))).toBe(true);
  });

  it('keeps incompressible values raw', async () => {
    const value = new Uint8Array(2_000).map((_, index) => (index * 7919) % 251);
    const random = Uint8Array.from(Buffer.from(crypto.getRandomValues(new Uint8Array(2_000))));
    await backend.set('ns', 'random', random, 30_000);
    expect((await redis.getBuffer(`${prefix}ns:random`))![0]).toBe(0);
    await backend.set('ns', 'pattern', value, 30_000);
    expect(Array.from((await backend.get('ns', 'pattern'))!)).toEqual(Array.from(value));
  });

  it('treats a corrupt entry as a miss, deletes it and reports it', async () => {
    await redis.set(`${prefix}ns:garbage`, Buffer.from([1, 0xde, 0xad, 0xbe, 0xef]));
    await redis.set(`${prefix}ns:header`, Buffer.from([9, 1, 2]));
    await redis.lpush(`${prefix}ns:list`, 'x');
    for (const key of ['garbage', 'header', 'list']) {
      expect(await backend.get('ns', key)).toBeUndefined();
    }
    await sleep(50);
    expect(await redis.exists(`${prefix}ns:garbage`, `${prefix}ns:header`, `${prefix}ns:list`)).toBe(0);
    expect(errors.filter((error) => error.operation === 'redis:decode')).toHaveLength(3);
    expect(backend.available).toBe(true);
  });

  it('serves a corrupt cached response as a miss through the cache middleware', async () => {
    const cache = createCache({ backend });
    const mock = createMockProvider();
    const bulwark = createBulwark({ providers: [mock], middleware: [cache] });
    const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'corrupt me' }] };
    await redis.set(
      `${prefix}anonymous:${cache.keyOf(request)}`,
      Buffer.concat([Buffer.of(0), Buffer.from('{not json')]),
    );
    expect((await bulwark.chat(request)).cache).toBe('miss');
    await cache.flush();
    expect((await bulwark.chat(request)).cache).toBe('hit');
    expect(mock.callCount).toBe(1);
  });

  it('is a cache plugin named redis whose schema names bad fields', async () => {
    expect([plugin.kind, plugin.name]).toEqual(['cache', 'redis']);
    const result = await plugin.configSchema['~standard'].validate({
      url: testRedis.url,
      lookupTimeoutMs: -5,
    });
    expect(result.issues?.[0]?.path).toEqual(['lookupTimeoutMs']);
    expect(() => createRedisCache({ redis, lookupTimeoutMs: 0 })).toThrow(/lookupTimeoutMs/);
    expect(() => createRedisCache({ nodes: ['nope'] })).toThrow(/nodes\[0\]/);
  });
});

describe('createRedisCache when Redis is slow or down', () => {
  it('is not ready while nothing answers, and says so within the bound instead of rejecting', async () => {
    const backend = createRedisCache({ url: `redis://127.0.0.1:${await freePort()}` });
    try {
      const started = Date.now();
      expect(await backend.ready(300)).toBe(false);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await backend.dispose?.();
    }
  });

  it('counts a slow lookup as a miss, then recovers', async () => {
    const server = await startRedisServer();
    const events = createEventBus();
    const availability: boolean[] = [];
    events.on('cache:availability', (payload) => availability.push(payload.available));
    const { logger, lines } = recordingLogger();
    const backend = createRedisCache({
      url: `redis://127.0.0.1:${server.port}`,
      lookupTimeoutMs: 40,
      events,
      logger,
    });
    const admin = new Redis(server.port, '127.0.0.1');
    try {
      expect(await backend.ready(5_000)).toBe(true);
      await backend.set('ns', 'k', new TextEncoder().encode('v'), 60_000);
      await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
      const started = Date.now();
      expect(await backend.get('ns', 'k')).toBeUndefined();
      // Answered by the timeout, long before Redis would have.
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(backend.available).toBe(false);
      await sleep(1_600);
      expect(new TextDecoder().decode(await backend.get('ns', 'k'))).toBe('v');
      expect(availability).toEqual([false, true]);
      expect(lines.map((line) => line.level)).toEqual(['warn', 'info']);
      expect(lines[0]!.message).toMatch(/unavailable/);
    } finally {
      admin.disconnect();
      await backend.dispose?.();
      await server.stop();
    }
  });

  it('reports a write Redis refuses (a TTL out of range) without logging it unavailable and back', async () => {
    const { logger, lines } = recordingLogger();
    const events = createEventBus();
    const refused: string[] = [];
    events.on('cache:error', (payload) => refused.push(payload.operation));
    const backend = createRedisCache({
      url: testRedis.url,
      prefix: `${testRedis.prefix}refused:`,
      logger,
      events,
    });
    try {
      expect(await backend.ready(5_000)).toBe(true);
      for (let call = 0; call < 3; call += 1)
        await backend.set('ns', `k${call}`, new TextEncoder().encode('v'), 1e23);
      expect(refused).toEqual(['redis:set', 'redis:set', 'redis:set']);
      expect(lines).toEqual([]);
      expect(backend.available).toBe(true);
      await backend.set('ns', 'ok', new TextEncoder().encode('v'), 365 * 24 * 3600 * 1000);
      expect(new TextDecoder().decode(await backend.get('ns', 'ok'))).toBe('v');
    } finally {
      await backend.dispose?.();
    }
  });

  it('keeps calls succeeding while Redis is stopped under load, and reconnects when it is back', async () => {
    let server = await startRedisServer();
    const port = server.port;
    const { logger, lines } = recordingLogger();
    const events = createEventBus();
    const failedOperations = new Set<string>();
    events.on('cache:error', (payload) => failedOperations.add(payload.operation));
    const backend = createRedisCache({
      url: `redis://127.0.0.1:${port}`,
      lookupTimeoutMs: 50,
      logger,
      events,
    });
    expect(await backend.ready(5_000)).toBe(true);
    const cache = createCache({ backend, coalesce: false });
    const mock = createMockProvider({ latencyMs: 2 });
    const bulwark = createBulwark({ providers: [mock], middleware: [cache] });
    const failures: unknown[] = [];
    const statuses: Array<{ phase: string; cache: string | undefined }> = [];
    let phase = 'before';
    let running = true;
    const worker = async (id: number) => {
      let turn = 0;
      while (running) {
        const request: ChatRequest = {
          model: 'm',
          messages: [{ role: 'user', content: `prompt ${(id + turn++) % 8}` }],
        };
        try {
          const answer = await bulwark.chat(request);
          statuses.push({ phase, cache: answer.cache });
        } catch (error) {
          failures.push(error);
        }
        await sleep(2);
      }
    };
    const workers = Array.from({ length: 4 }, (_, id) => worker(id));
    try {
      await sleep(300);
      phase = 'stopping';
      await server.stop();
      phase = 'down';
      await sleep(600);
      phase = 'restarting';
      server = await startRedisServer({ port });
      const deadline = Date.now() + 10_000;
      while (!backend.available || statuses.filter((s) => s.phase === 'restarting').length < 20) {
        if (Date.now() > deadline) throw new Error('the cache did not come back');
        await sleep(50);
      }
      phase = 'after';
      await sleep(400);
    } finally {
      running = false;
      await Promise.all(workers);
      await backend.dispose?.();
      await server.stop();
    }
    expect(failures).toEqual([]);
    const count = (which: string, status: string) =>
      statuses.filter((entry) => entry.phase === which && entry.cache === status).length;
    expect(count('before', 'hit')).toBeGreaterThan(0);
    expect(count('down', 'miss')).toBeGreaterThan(10);
    expect(count('down', 'hit')).toBe(0);
    expect(count('after', 'hit')).toBeGreaterThan(0);
    expect(lines.some((line) => line.level === 'warn' && /unavailable/.test(line.message))).toBe(true);
    expect(lines.some((line) => line.level === 'info' && /available again/.test(line.message))).toBe(true);
    // The backend absorbed every failure (the middleware saw none) and reported each kind.
    expect(cache.stats().errors).toBe(0);
    expect(failedOperations.has('redis:get')).toBe(true);
    expect(failedOperations.has('redis:set')).toBe(true);
    expect(count('down', 'hit') + count('down', 'miss')).toBe(
      statuses.filter((entry) => entry.phase === 'down').length,
    );
  });
});
