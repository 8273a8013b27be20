export type { MemoryCacheBackend, MemoryCacheOptions } from './memory-cache.js';
export { createMemoryCache, defaultMaxBytes, entryOverheadBytes } from './memory-cache.js';
export type { MemoryCacheConfig } from './plugin.js';
export { memoryCacheConfigSchema, plugin } from './plugin.js';
