export type { TestRedis } from './redis/test-redis.js';
export { deleteKeysWithPrefix, freePort, redisCommand, startRedisServer, useTestRedis } from './redis/test-redis.js';
