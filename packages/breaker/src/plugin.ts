import { ConfigError, type PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import type { BreakerStoreV1 } from './breaker-store.js';
import { createCircuitBreaker } from './circuit-breaker.js';

/** Config of the `breaker` middleware plugin (gateway `breaker: { … }`). Durations in milliseconds. */
export const breakerConfigSchema = z.object({
  failureThreshold: z.number().int().min(0).optional(),
  failureRatio: z.number().min(0).max(1).optional(),
  minimumCalls: z.number().int().min(1).optional(),
  windowMs: z.number().positive().optional(),
  windowBuckets: z.number().int().min(1).optional(),
  cooldownMs: z.number().min(0).optional(),
  maxCooldownMs: z.number().min(0).optional(),
  cooldownMultiplier: z.number().min(1).optional(),
  halfOpenProbes: z.number().int().min(1).optional(),
  probeTimeoutMs: z.number().positive().optional(),
  slowCallMs: z.number().positive().optional(),
  countRateLimits: z.boolean().optional(),
  /** A `store` plugin holding the state (e.g. `redis`); default `memory` (this process). */
  store: z.string().min(1).optional(),
  /** Config handed to the store plugin (e.g. `{ url: "redis://127.0.0.1:6379" }`). */
  storeOptions: z.record(z.string(), z.unknown()).optional(),
});

export type BreakerConfig = z.infer<typeof breakerConfigSchema>;

function isBreakerStore(value: unknown): value is BreakerStoreV1 {
  const store = value as Partial<BreakerStoreV1> | undefined;
  return (
    store?.specificationVersion === 'v1' &&
    typeof store.acquire === 'function' &&
    typeof store.record === 'function'
  );
}

/** The `breaker` middleware plugin: one circuit breaker per target. */
export const plugin: PluginDescriptor<'middleware', BreakerConfig> = {
  specificationVersion: 'v1',
  kind: 'middleware',
  name: 'breaker',
  packageName: '@bulwark/breaker',
  description: 'Circuit breaker per target: consecutive and ratio triggers, limited half-open probes.',
  configSchema: breakerConfigSchema,
  async create(config, context) {
    const { store: storeName, storeOptions, ...policy } = config;
    let store: BreakerStoreV1 | undefined;
    if (storeName !== undefined && storeName !== 'memory') {
      const created = await context.create('store', storeName, storeOptions ?? {}, `${context.path}.store`);
      if (!isBreakerStore(created)) {
        throw new ConfigError({
          path: `${context.path}.store`,
          message: `${context.path}.store "${storeName}" did not create a breaker store (BreakerStoreV1 with acquire and record)`,
        });
      }
      store = created;
    }
    try {
      return createCircuitBreaker({
        ...policy,
        ...(store ? { store } : {}),
        clock: context.clock,
        logger: context.logger,
      });
    } catch (error) {
      if (ConfigError.isInstance(error)) {
        throw new ConfigError({
          path: `${context.path}.${error.path}`,
          message: `${context.path}.${error.message}`,
          cause: error,
        });
      }
      throw error;
    }
  },
};
