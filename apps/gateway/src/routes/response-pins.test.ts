import { createVirtualClock, freePort, type TestRedis, useTestRedis } from '@bulwark/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../config/load-config.js';
import { captureLogs } from '../test-helpers/log-capture.js';
import {
  createMemoryResponsePinStore,
  createRedisResponsePinStore,
  createResponsePinStore,
  type ResponsePinStore,
} from './response-pins.js';

describe('memory response pin store', () => {
  it('forgets a pin once its TTL has passed (virtual time)', async () => {
    const clock = createVirtualClock(1_000);
    const pins = createMemoryResponsePinStore({ ttlMs: 60_000, clock });
    await pins.set('resp_1', { provider: 'two', model: 'gpt-5-mini' });
    await clock.advance(59_999);
    expect(await pins.get('resp_1')).toEqual({ provider: 'two', model: 'gpt-5-mini' });
    await clock.advance(1);
    expect(await pins.get('resp_1')).toBeUndefined();
  });

  it('drops the oldest pin beyond maxEntries', async () => {
    const pins = createMemoryResponsePinStore({ maxEntries: 2 });
    await pins.set('a', { provider: 'p', model: 'a' });
    await pins.set('b', { provider: 'p', model: 'b' });
    await pins.set('c', { provider: 'p', model: 'c' });
    expect(await pins.get('a')).toBeUndefined();
    expect(await pins.get('b')).toEqual({ provider: 'p', model: 'b' });
    expect(await pins.get('c')).toEqual({ provider: 'p', model: 'c' });
  });

  it('validates responses.pinning in the gateway config, naming the field', () => {
    const base = { providers: { main: { plugin: 'mock' } } };
    const config = validateGatewayConfig({
      ...base,
      responses: { pinning: { store: { plugin: 'redis', url: 'redis://127.0.0.1:6379' } } },
    });
    expect(config.responses?.pinning).toEqual({
      store: { plugin: 'redis', url: 'redis://127.0.0.1:6379', prefix: 'bulwark:' },
      ttlSeconds: 21_600,
    });
    expect(() =>
      validateGatewayConfig({ ...base, responses: { pinning: { store: { plugin: 'etcd' } } } }),
    ).toThrow(/responses\.pinning\.store/);
    expect(() => validateGatewayConfig({ ...base, responses: { pinning: { ttlSeconds: 0 } } })).toThrow(
      /responses\.pinning\.ttlSeconds/,
    );
  });

  it('refuses an unknown store plugin, naming the field', async () => {
    await expect(createResponsePinStore({ store: { plugin: 'etcd' } })).rejects.toMatchObject({
      path: 'responses.pinning.store.plugin',
    });
  });
});

describe('Redis response pin store', () => {
  let redis: TestRedis;
  let raw: Redis;
  const stores: ResponsePinStore[] = [];

  beforeAll(async () => {
    redis = await useTestRedis();
    raw = new Redis(redis.url);
  });

  afterAll(async () => {
    for (const store of stores) await store.close();
    raw.disconnect();
    await redis.stop();
  });

  const open = async (ttlSeconds: number, prefix = redis.prefix): Promise<ResponsePinStore> => {
    const store = await createResponsePinStore({
      store: { plugin: 'redis', url: redis.url, prefix },
      ttlSeconds,
    });
    stores.push(store);
    return store;
  };

  it('shares pins between two stores on one Redis, under the prefix, with SET … PX ttl', async () => {
    const writer = await open(3600);
    const reader = await open(3600);
    await writer.set('resp_shared', { provider: 'two', model: 'gpt-5-mini' });
    expect(await reader.get('resp_shared')).toEqual({ provider: 'two', model: 'gpt-5-mini' });
    const ttl = await raw.pttl(`${redis.prefix}response-pin:resp_shared`);
    expect(ttl).toBeGreaterThan(3_590_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
    expect(await reader.get('resp_unknown')).toBeUndefined();
    expect(await reader.ready?.()).toEqual({ ready: true });
  });

  it('lets Redis expire a pin after its TTL', async () => {
    const store = await open(1, `${redis.prefix}short:`);
    await store.set('resp_short', { provider: 'one', model: 'gpt-5' });
    expect(await store.get('resp_short')).toEqual({ provider: 'one', model: 'gpt-5' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await store.get('resp_short')).toBeUndefined();
    expect(await raw.exists(`${redis.prefix}short:response-pin:resp_short`)).toBe(0);
  });

  it('fails open when Redis does not answer: no pin, no throw, one log line without the URL, not ready', async () => {
    const logs = captureLogs();
    const deadURL = `redis://:hunter2-secret@127.0.0.1:${await freePort()}`;
    const store = await createRedisResponsePinStore({
      url: deadURL,
      prefix: redis.prefix,
      logger: logs.logger,
    });
    stores.push(store);
    await expect(store.set('resp_lost', { provider: 'one', model: 'gpt-5' })).resolves.toBeUndefined();
    expect(await store.get('resp_lost')).toBeUndefined();
    expect(await store.get('resp_lost')).toBeUndefined();
    const warnings = logs.lines.filter((line) => line.includes('response pin store'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toContain('hunter2');
    expect(warnings[0]).not.toContain(deadURL);
    expect(await store.ready?.()).toMatchObject({ ready: false });
  });
});
