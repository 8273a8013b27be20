import { ConfigError, createConfiguredStore, type PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
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
  /**
   * Where circuit state is kept: `{ plugin: memory }` (this process, the default) or a `breaker-store`
   * plugin with its options, e.g. `{ plugin: redis, url, prefix }` from `@bulwark/redis-stores`.
   */
  store: z
    .looseObject(
      { plugin: z.string().min(1) },
      { error: 'store must be an object: { plugin: memory } or { plugin: redis, url, prefix }' },
    )
    .optional(),
  storeOptions: z
    .never({ error: 'storeOptions moved into the store: write store: { plugin: redis, url, prefix }' })
    .optional(),
});

export type BreakerConfig = z.infer<typeof breakerConfigSchema>;

/** The `breaker` middleware plugin: one circuit breaker per target. */
export const plugin: PluginDescriptor<'middleware', BreakerConfig> = {
  specificationVersion: 'v1',
  kind: 'middleware',
  name: 'breaker',
  packageName: '@bulwark/breaker',
  description: 'Circuit breaker per target: consecutive and ratio triggers, limited half-open probes.',
  configSchema: breakerConfigSchema,
  async create(config, context) {
    const { store: storeConfig, storeOptions: _moved, ...policy } = config;
    const store = await createConfiguredStore(context, 'breaker-store', storeConfig);
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
