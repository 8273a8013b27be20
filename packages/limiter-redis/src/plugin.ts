import type { BreakerAcquireResult, BreakerPolicy } from '@bulwark/breaker';
import type { PluginDescriptor } from '@bulwark/core';
import type { AcquireResult, RateDimension } from '@bulwark/limiter';
import { z } from 'zod';
import { createRedisBreakerStore, type RedisBreakerStore } from './redis-breaker-store.js';
import { createRedisLimiterStore, type RedisLimiterStore } from './redis-limiter-store.js';

/** Config of the `redis` store plugin (the limiter's `store: redis` or the breaker's `storeOptions`). */
export const redisStoreConfigSchema = z.object({
  /** Redis URL. */
  url: z.string().min(1).default('redis://127.0.0.1:6379'),
  /** Key prefix (no braces). Defaults: `bulwark:limiter:` and `bulwark:breaker:`. */
  keyPrefix: z
    .string()
    .regex(/^[^{}]*$/, 'must not contain { or }')
    .optional(),
  /** Limiter behaviour while Redis is unreachable (the breaker always falls back to a local breaker). */
  failMode: z.enum(['open', 'closed']).default('open'),
  /** Replicas sharing the limits: the fail-open local limiter runs at limit ÷ this. */
  expectedReplicas: z.number().int().positive().default(1),
  /** Redis command deadline in ms before the store counts Redis as unreachable. */
  commandTimeoutMs: z.number().int().positive().default(100),
});

export type RedisStoreConfig = z.infer<typeof redisStoreConfigSchema>;

/**
 * What the `redis` store plugin creates: one object that is both a `LimiterStoreV1` and a
 * `BreakerStoreV1` (the one `acquire` tells them apart by its arguments), so the limiter's
 * `store: redis` and the breaker's `store: redis` both work from the same plugin. Connections open lazily.
 */
export type RedisStore = Omit<RedisLimiterStore, 'acquire' | 'client' | 'degraded' | 'close'> &
  Omit<RedisBreakerStore, 'acquire' | 'client' | 'degraded' | 'close'> & {
    acquire(
      key: string,
      costs: readonly number[],
      dimensions: readonly RateDimension[],
      now: number,
    ): Promise<AcquireResult>;
    acquire(key: string, now: number, policy: BreakerPolicy): Promise<BreakerAcquireResult>;
    close(): Promise<void>;
  };

/** Creates the combined Redis store from plugin config. */
export function createRedisStore(
  config: RedisStoreConfig,
  services: Pick<Parameters<PluginDescriptor['create']>[1], 'events' | 'logger'>,
): RedisStore {
  let limiter: RedisLimiterStore | undefined;
  let breaker: RedisBreakerStore | undefined;
  const common = {
    url: config.url,
    commandTimeoutMs: config.commandTimeoutMs,
    events: services.events,
    logger: services.logger,
  };
  const limiterStore = (): RedisLimiterStore => {
    limiter ??= createRedisLimiterStore({
      ...common,
      failMode: config.failMode,
      expectedReplicas: config.expectedReplicas,
      ...(config.keyPrefix === undefined ? {} : { keyPrefix: config.keyPrefix }),
    });
    return limiter;
  };
  const breakerStore = (): RedisBreakerStore => {
    breaker ??= createRedisBreakerStore({
      ...common,
      ...(config.keyPrefix === undefined ? {} : { keyPrefix: config.keyPrefix }),
    });
    return breaker;
  };
  const store = {
    specificationVersion: 'v1' as const,
    name: 'redis',
    acquire(
      key: string,
      second: number | readonly number[],
      third: readonly RateDimension[] | BreakerPolicy,
      now?: number,
    ) {
      if (Array.isArray(second)) {
        return limiterStore().acquire(key, second, third as readonly RateDimension[], now ?? Date.now());
      }
      return breakerStore().acquire(key, second as number, third as BreakerPolicy);
    },
    adjust: (...args: Parameters<RedisLimiterStore['adjust']>) => limiterStore().adjust(...args),
    pause: (...args: Parameters<RedisLimiterStore['pause']>) => limiterStore().pause(...args),
    record: (...args: Parameters<RedisBreakerStore['record']>) => breakerStore().record(...args),
    get: (key: string) => breakerStore().get(key),
    set: (...args: Parameters<RedisBreakerStore['set']>) => breakerStore().set(...args),
    keys: () => breakerStore().keys(),
    delete: (key: string) => breakerStore().delete(key),
    async close() {
      await limiter?.close();
      await breaker?.close();
    },
  };
  return store as RedisStore;
}

/** The `redis` store plugin: shared limiter and breaker state. */
export const plugin: PluginDescriptor<'store', RedisStoreConfig> = {
  specificationVersion: 'v1',
  kind: 'store',
  name: 'redis',
  packageName: '@bulwark/limiter-redis',
  description: 'Rate limits and circuit-breaker state shared across replicas through Redis.',
  configSchema: redisStoreConfigSchema,
  create: (config, context) => createRedisStore(config, context),
};
