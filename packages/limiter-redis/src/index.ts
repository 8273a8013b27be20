export type { FailMode } from './degradation.js';
export { LimiterUnavailableError } from './degradation.js';
export type { RedisLimiterStore, RedisLimiterStoreOptions } from './redis-limiter-store.js';
export { createRedisLimiterStore } from './redis-limiter-store.js';
export type { RedisClient } from './redis-script.js';
