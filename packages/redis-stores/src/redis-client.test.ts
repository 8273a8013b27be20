import { ConfigError } from '@bulwark/core';
import { freePort, type TestRedis, useTestRedis } from '@bulwark/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, loadIoredis, openRedisConnection } from './redis-client.js';
import { defineScript } from './redis-script.js';

describe('the shared Redis client factory', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await useTestRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('says which package to install when ioredis is missing, and rethrows anything else', () => {
    const missing = () => {
      throw Object.assign(new Error("Cannot find module 'ioredis'"), { code: 'MODULE_NOT_FOUND' });
    };
    const error = (() => {
      try {
        return loadIoredis(missing);
      } catch (caught) {
        return caught;
      }
    })();
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/needs the `ioredis` package.*pnpm add ioredis/);
    const broken = () => {
      throw new TypeError('broken install');
    };
    expect(() => loadIoredis(broken)).toThrow(TypeError);
    expect(typeof loadIoredis().Redis).toBe('function');
  });

  it('names a Cluster seed that is not host:port', () => {
    expect(() => createRedisClient({ nodes: ['127.0.0.1'] })).toThrow(/nodes\[0\] must be "host:port"/);
  });

  it('runs scripts through defineCommand, answers ready() from PING, and closes only what it created', async () => {
    const connection = openRedisConnection({ url: redis.url });
    const echo = defineScript('TestEcho', "return redis.call('SET', KEYS[1], ARGV[1])");
    await connection.connected();
    expect(await connection.run(echo, [`${redis.prefix}echo`], ['one'])).toBe('OK');
    expect(await connection.ready()).toBe(true);
    await connection.close();
    expect(await connection.ready()).toBe(false);

    const own = new Redis(redis.url, { enableOfflineQueue: false });
    await new Promise((resolve) => own.once('ready', resolve));
    const borrowed = openRedisConnection({ redis: own });
    expect(borrowed.owned).toBe(false);
    await borrowed.close();
    expect(await own.get(`${redis.prefix}echo`)).toBe('one');
    own.disconnect();
  });

  it('fails a command at once while nothing answers, instead of queueing it', async () => {
    const connection = openRedisConnection({
      url: `redis://127.0.0.1:${await freePort()}`,
      connectTimeoutMs: 1000,
    });
    try {
      const started = Date.now();
      await expect(connection.connected()).rejects.toThrow();
      // Refused at once, or at worst the one-second first-connection wait: never ioredis' queue.
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(await connection.ready()).toBe(false);
      // Once the first connection attempt is over, a command fails at once.
      const again = Date.now();
      await expect(connection.connected()).rejects.toThrow();
      await expect(connection.client.get('k')).rejects.toThrow();
      expect(Date.now() - again).toBeLessThan(900);
    } finally {
      await connection.close();
    }
  });
});
