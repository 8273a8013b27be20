/**
 * @deprecated `@bulwark/limiter-redis` is now `@bulwark/redis-stores`: the Redis limiter, breaker and
 * spend stores together, one plugin per store kind. This package re-exports it so existing imports keep
 * working; import from `@bulwark/redis-stores` instead.
 */
export type {
  FailMode,
  RedisBreakerStore,
  RedisBreakerStoreOptions,
  RedisClient,
  RedisLimiterStore,
  RedisLimiterStoreOptions,
} from '@bulwark/redis-stores';
export {
  breakerStorePlugin,
  createRedisBreakerStore,
  createRedisLimiterStore,
  LimiterUnavailableError,
  limiterStorePlugin,
  plugins,
} from '@bulwark/redis-stores';
