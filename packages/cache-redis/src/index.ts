export type { RedisCacheConfig } from './plugin.js';
export { plugin, redisCacheConfigSchema } from './plugin.js';
export type { RedisCacheBackend, RedisCacheOptions } from './redis-cache.js';
export { createRedisCache } from './redis-cache.js';
