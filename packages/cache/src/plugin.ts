import type { PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import { type CacheOptions, createCache, maxTtlSeconds } from './cache-middleware.js';

const finishReason = z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'other']);

const policySchema = z.strictObject({
  enabled: z.boolean().optional(),
  ttlSeconds: z.number().positive().max(maxTtlSeconds).optional(),
  deterministicOnly: z.boolean().optional(),
  storeFinishReasons: z.array(finishReason).optional(),
});

/**
 * The gateway's `cache` section: `{ plugin: redis, url, ttlSeconds }`. Keys the middleware does not
 * know are handed to the backend plugin (`plugin`, default `memory`), whose own schema checks them.
 */
export const cacheConfigSchema = z.looseObject({
  /** The cache backend plugin (kind `cache`): `memory` (default) or `redis`. */
  plugin: z.string().min(1).default('memory'),
  ttlSeconds: z.number().positive().max(maxTtlSeconds).optional(),
  shared: z.boolean().optional(),
  coalesce: z.boolean().optional(),
  maxEntryBytes: z.number().int().positive().optional(),
  deterministicOnly: z.boolean().optional(),
  storeFinishReasons: z.array(finishReason).optional(),
  models: z.record(z.string(), policySchema).optional(),
});

export type CacheConfig = z.infer<typeof cacheConfigSchema>;

const middlewareKeys = new Set([
  'plugin',
  'ttlSeconds',
  'shared',
  'coalesce',
  'maxEntryBytes',
  'deterministicOnly',
  'storeFinishReasons',
  'models',
]);

/** The cache middleware as a plugin (kind `middleware`, name `cache`); it creates its backend plugin. */
export const plugin: PluginDescriptor<'middleware', CacheConfig> = {
  specificationVersion: 'v1',
  kind: 'middleware',
  name: 'cache',
  packageName: '@bulwark/cache',
  description: 'Response cache with tenant namespaces, streamed replay and request coalescing.',
  configSchema: cacheConfigSchema,
  async create(config, context) {
    const backendConfig: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
      if (!middlewareKeys.has(key)) backendConfig[key] = value;
    }
    const backend = await context.create('cache', config.plugin, backendConfig, context.path);
    const options: CacheOptions = { backend };
    if (config.ttlSeconds !== undefined) options.ttlSeconds = config.ttlSeconds;
    if (config.shared !== undefined) options.shared = config.shared;
    if (config.coalesce !== undefined) options.coalesce = config.coalesce;
    if (config.maxEntryBytes !== undefined) options.maxEntryBytes = config.maxEntryBytes;
    const policy: NonNullable<CacheOptions['policy']> = {};
    if (config.deterministicOnly !== undefined) policy.deterministicOnly = config.deterministicOnly;
    if (config.storeFinishReasons !== undefined) policy.storeFinishReasons = config.storeFinishReasons;
    options.policy = policy;
    if (config.models) options.models = config.models as CacheOptions['models'];
    return createCache(options);
  },
};
