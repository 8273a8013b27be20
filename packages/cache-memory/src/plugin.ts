import type { PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import { createMemoryCache } from './memory-cache.js';

/** `cache: { plugin: memory, maxBytes }` in the gateway config. */
export const memoryCacheConfigSchema = z.strictObject({
  /** Upper bound on the bytes the entries hold (values, keys, per-entry overhead). Default 32 MiB. */
  maxBytes: z.number().int().positive().optional(),
  /** Largest single entry in bytes. Default: a quarter of `maxBytes`. */
  maxEntryBytes: z.number().int().positive().optional(),
});

export type MemoryCacheConfig = z.infer<typeof memoryCacheConfigSchema>;

/** The in-memory cache backend as a plugin (kind `cache`, name `memory`). */
export const plugin: PluginDescriptor<'cache', MemoryCacheConfig> = {
  specificationVersion: 'v1',
  kind: 'cache',
  name: 'memory',
  packageName: '@bulwark/cache-memory',
  description: 'In-process LRU cache bounded in bytes, with TTL.',
  configSchema: memoryCacheConfigSchema,
  create(config, context) {
    const options: Parameters<typeof createMemoryCache>[0] = { clock: context.clock };
    if (config.maxBytes !== undefined) options.maxBytes = config.maxBytes;
    if (config.maxEntryBytes !== undefined) options.maxEntryBytes = config.maxEntryBytes;
    return createMemoryCache(options);
  },
};
