import { afterAll, describe, expect, it } from 'vitest';
import { redisCommand, startRedisServer, useTestRedis } from './test-redis.js';

describe('useTestRedis', () => {
  it('gives a reachable Redis and removes the keys of its prefix on stop', async () => {
    const redis = await useTestRedis();
    await redisCommand(redis.host, redis.port, ['SET', `${redis.prefix}a`, '1']);
    await redisCommand(redis.host, redis.port, ['SET', `${redis.prefix}b`, '2']);
    expect(await redisCommand(redis.host, redis.port, ['GET', `${redis.prefix}a`])).toBe('$1\r\n1\r\n');
    await redis.stop();
    if (!redis.started) {
      expect(
        await redisCommand(redis.host, redis.port, ['EXISTS', `${redis.prefix}a`, `${redis.prefix}b`]),
      ).toBe(':0\r\n');
    }
  });
});

describe('startRedisServer', () => {
  const servers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const stop of servers) await stop();
  });

  it('starts a private redis-server on a free port and stops it', async () => {
    const server = await startRedisServer();
    servers.push(server.stop);
    expect(await redisCommand('127.0.0.1', server.port, ['PING'])).toBe('+PONG\r\n');
    await server.stop();
    await expect(redisCommand('127.0.0.1', server.port, ['PING'], 300)).rejects.toThrow();
  });
});
