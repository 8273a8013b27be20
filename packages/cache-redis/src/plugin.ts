import type { PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import { createRedisCache, type RedisCacheOptions } from './redis-cache.js';

/** `cache: { plugin: redis, url, ttlSeconds }` in the gateway config (`ttlSeconds` belongs to the cache middleware). */
export const redisCacheConfigSchema = z.strictObject({
  /** Redis URL. Default `redis://127.0.0.1:6379`. */
  url: z.string().min(1).optional(),
  /** Redis Cluster seed nodes as `host:port`; overrides `url`. */
  nodes: z.array(z.string().min(3)).min(1).optional(),
  /** Key prefix. Default `bulwark:cache:`. */
  prefix: z.string().optional(),
  /** Compress values above this many bytes, or `false`. Default 1024. */
  compressAboveBytes: z.union([z.number().int().nonnegative(), z.literal(false)]).optional(),
  /** A slower lookup counts as a miss. Default 50 ms. */
  lookupTimeoutMs: z.number().positive().optional(),
  /** A slower write is given up. Default 250 ms. */
  writeTimeoutMs: z.number().positive().optional(),
});

export type RedisCacheConfig = z.infer<typeof redisCacheConfigSchema>;

/** The Redis cache backend as a plugin (kind `cache`, name `redis`). */
export const plugin: PluginDescriptor<'cache', RedisCacheConfig> = {
  specificationVersion: 'v1',
  kind: 'cache',
  name: 'redis',
  packageName: '@bulwark/cache-redis',
  description: 'Redis (single node or Cluster) cache backend that steps aside when Redis is slow or down.',
  configSchema: redisCacheConfigSchema,
  create(config, context) {
    const options: RedisCacheOptions = {
      clock: context.clock,
      events: context.events,
      logger: context.logger,
    };
    if (config.url !== undefined) options.url = config.url;
    if (config.nodes !== undefined) options.nodes = config.nodes;
    if (config.prefix !== undefined) options.prefix = config.prefix;
    if (config.compressAboveBytes !== undefined) options.compressAboveBytes = config.compressAboveBytes;
    if (config.lookupTimeoutMs !== undefined) options.lookupTimeoutMs = config.lookupTimeoutMs;
    if (config.writeTimeoutMs !== undefined) options.writeTimeoutMs = config.writeTimeoutMs;
    return createRedisCache(options);
  },
};
