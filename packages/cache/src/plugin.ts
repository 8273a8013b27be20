import { ConfigError, type PluginDescriptor } from '@bulwark/core';
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
 * The gateway's `cache` section: `{ store: { plugin: redis, url, prefix }, ttlSeconds }`, the store
 * idiom of every section. The store's other keys go to the backend plugin, whose own schema checks them.
 * The flat spelling of 0.1 (`{ plugin: redis, url, ttlSeconds }`) still works and is deprecated.
 */
export const cacheConfigSchema = z.looseObject({
  /** The cache backend (plugin kind `cache`) and its options: `{ plugin: memory }` (default) or `{ plugin: redis, url, prefix }`. */
  store: z
    .looseObject(
      { plugin: z.string().min(1) },
      { error: 'store must be an object: { plugin: memory } or { plugin: redis, url, prefix }' },
    )
    .optional(),
  /** @deprecated Write `store: { plugin, … }`. The backend plugin, with its options beside it. */
  plugin: z.string().min(1).optional(),
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
  'store',
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
    const flat: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
      if (!middlewareKeys.has(key)) flat[key] = value;
    }
    let backend: CacheOptions['backend'];
    if (config.store) {
      if (config.plugin !== undefined || Object.keys(flat).length > 0) {
        const key = config.plugin !== undefined ? 'plugin' : Object.keys(flat)[0];
        throw new ConfigError({
          path: `${context.path}.${key}`,
          message: `${context.path}.${key}: with store: { plugin, … }, the backend's options go inside store`,
        });
      }
      const { plugin: backendName, ...backendConfig } = config.store;
      backend = await context.create('cache', backendName, backendConfig, `${context.path}.store`);
    } else {
      if (config.plugin !== undefined && config.plugin !== 'memory') {
        context.logger.warn(
          `${context.path}.plugin is deprecated: write ${context.path}: { store: { plugin: ${config.plugin}, url, prefix } }`,
        );
      }
      backend = await context.create('cache', config.plugin ?? 'memory', flat, context.path);
    }
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
