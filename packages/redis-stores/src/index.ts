export type { FailMode } from './degradation.js';
export { LimiterUnavailableError } from './degradation.js';
export {
  breakerStorePlugin,
  limiterStorePlugin,
  plugins,
  redisBreakerStoreConfigSchema,
  redisLimiterStoreConfigSchema,
  redisSpendStoreConfigSchema,
  spendStorePlugin,
} from './plugin.js';
export type { RedisBreakerStore, RedisBreakerStoreOptions } from './redis-breaker-store.js';
export { createRedisBreakerStore } from './redis-breaker-store.js';
export type {
  RedisClient,
  RedisConnection,
  RedisConnectionOptions,
  RedisScript,
} from './redis-client.js';
export { createRedisClient, loadIoredis, openRedisConnection } from './redis-client.js';
export type { RedisLimiterStore, RedisLimiterStoreOptions } from './redis-limiter-store.js';
export { createRedisLimiterStore } from './redis-limiter-store.js';
export type { TimeSource } from './redis-script.js';
export type { RedisSpendStore, RedisSpendStoreOptions } from './redis-spend-store.js';
export { createRedisSpendStore } from './redis-spend-store.js';
