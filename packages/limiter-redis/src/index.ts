export type { FailMode } from './degradation.js';
export { LimiterUnavailableError } from './degradation.js';
export type { RedisStore, RedisStoreConfig } from './plugin.js';
export { createRedisStore, plugin, redisStoreConfigSchema } from './plugin.js';
export type { RedisBreakerStore, RedisBreakerStoreOptions } from './redis-breaker-store.js';
export { createRedisBreakerStore } from './redis-breaker-store.js';
export type { RedisLimiterStore, RedisLimiterStoreOptions } from './redis-limiter-store.js';
export { createRedisLimiterStore } from './redis-limiter-store.js';
export type { RedisClient } from './redis-script.js';
