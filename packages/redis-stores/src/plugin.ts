import type { PluginContext, PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import { createRedisBreakerStore } from './redis-breaker-store.js';
import type { RedisConnectionOptions } from './redis-client.js';
import { createRedisLimiterStore } from './redis-limiter-store.js';
import { createRedisSpendStore } from './redis-spend-store.js';

/** The connection settings every Redis store plugin takes: `store: { plugin: redis, url, prefix }`. */
const connectionFields = {
  /** Redis URL (`redis://…`, `rediss://…` for TLS). Default `redis://127.0.0.1:6379`. */
  url: z.string().min(1).optional(),
  /** Redis Cluster seed nodes as `host:port`; overrides `url`. */
  nodes: z.array(z.string().min(3)).min(1).optional(),
  /**
   * Prefix of every key (no braces). Default `bulwark:`; each store adds its role (`limiter:`, `breaker:`,
   * `spend:`), so the three stores can share one prefix.
   */
  prefix: z
    .string()
    .regex(/^[^{}]*$/, 'must not contain { or }')
    .optional(),
  /** Redis command deadline in ms before the store counts Redis as unreachable. */
  commandTimeoutMs: z.number().int().positive().optional(),
  /** Connection attempt deadline in ms. Default 2000. */
  connectTimeoutMs: z.number().int().positive().optional(),
  /** `redis` (default): scripts read Redis `TIME`; `caller`: they use the middleware's clock. */
  timeSource: z.enum(['redis', 'caller']).optional(),
  keyPrefix: z
    .never({ error: 'keyPrefix is now prefix (the store adds its role: <prefix>limiter:…)' })
    .optional(),
};

/** Config of the `redis` limiter-store plugin (`limiter: { store: { plugin: redis, … } }`). */
export const redisLimiterStoreConfigSchema = z.strictObject({
  ...connectionFields,
  /** While Redis is unreachable: `open` (local limiter at limit ÷ replicas, default) or `closed` (refuse). */
  failMode: z.enum(['open', 'closed']).optional(),
  /** Replicas sharing the limits: the fail-open local limiter runs at limit ÷ this. Default 1. */
  expectedReplicas: z.number().int().positive().optional(),
});

/** Config of the `redis` breaker-store plugin (`breaker: { store: { plugin: redis, … } }`). */
export const redisBreakerStoreConfigSchema = z.strictObject(connectionFields);

const { timeSource: _timeSource, ...spendFields } = connectionFields;
/** Config of the `redis` spend-store plugin (`budget: { store: { plugin: redis, … } }`). */
export const redisSpendStoreConfigSchema = z.strictObject(spendFields);

type ConnectionConfig = z.infer<typeof redisBreakerStoreConfigSchema>;

/** Only the settings that were given, so each factory's defaults apply to the rest. */
function defined<T extends object>(config: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined)) as never;
}

function services(context: PluginContext) {
  return { events: context.events, logger: context.logger };
}

function connection(config: ConnectionConfig): RedisConnectionOptions & { prefix?: string } {
  const { keyPrefix: _removed, ...rest } = config;
  return defined(rest);
}

/** The `redis` limiter-store plugin: rate limits shared by every replica (GCRA in one Lua script). */
export const limiterStorePlugin: PluginDescriptor<
  'limiter-store',
  z.infer<typeof redisLimiterStoreConfigSchema>
> = {
  specificationVersion: 'v1',
  kind: 'limiter-store',
  name: 'redis',
  packageName: '@bulwark/redis-stores',
  description: 'Rate limits shared across replicas through Redis, with a fail-open or fail-closed mode.',
  configSchema: redisLimiterStoreConfigSchema,
  create: (config, context) =>
    createRedisLimiterStore({ ...connection(config), ...defined(config), ...services(context) }),
};

/** The `redis` breaker-store plugin: circuit state shared by every replica. */
export const breakerStorePlugin: PluginDescriptor<
  'breaker-store',
  z.infer<typeof redisBreakerStoreConfigSchema>
> = {
  specificationVersion: 'v1',
  kind: 'breaker-store',
  name: 'redis',
  packageName: '@bulwark/redis-stores',
  description: 'Circuit-breaker state shared across replicas through Redis; one probe across replicas.',
  configSchema: redisBreakerStoreConfigSchema,
  create: (config, context) => createRedisBreakerStore({ ...connection(config), ...services(context) }),
};

/** The `redis` spend-store plugin: budget counters shared by every replica. */
export const spendStorePlugin: PluginDescriptor<
  'spend-store',
  z.infer<typeof redisSpendStoreConfigSchema>
> = {
  specificationVersion: 'v1',
  kind: 'spend-store',
  name: 'redis',
  packageName: '@bulwark/redis-stores',
  description: 'Budget spend counters shared across replicas through Redis, reserved atomically.',
  configSchema: redisSpendStoreConfigSchema,
  create: (config) => createRedisSpendStore(connection(config)),
};

/** The three store plugins, for `registry.load('@bulwark/redis-stores')`. */
export const plugins = [limiterStorePlugin, breakerStorePlugin, spendStorePlugin] as const;
