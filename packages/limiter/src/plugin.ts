import type { PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import type { LimiterStoreV1 } from './limiter-store.js';
import { createRateLimiter } from './rate-limiter.js';

const limitsSchema = z.object({
  rpm: z.number().positive().optional(),
  tpm: z.number().positive().optional(),
  concurrency: z.number().int().positive().optional(),
  requestBurst: z.number().positive().optional(),
  tokenBurst: z.number().positive().optional(),
});

/** Config of the `limiter` middleware plugin (the gateway's `limiter:` section). */
export const limiterConfigSchema = z.object({
  /** `memory` (this process) or the name of a store plugin, e.g. `redis` from `@bulwark/limiter-redis`. */
  store: z.string().min(1).default('memory'),
  /** Redis URL, for `store: redis`. */
  url: z.string().min(1).optional(),
  /** Key prefix in the shared store. */
  keyPrefix: z.string().optional(),
  /** What a shared store does when it is unreachable: `open` (local limiter at limit ÷ replicas) or `closed`. */
  failMode: z.enum(['open', 'closed']).optional(),
  /** Replicas sharing the limits; the fail-open local limiter runs at limit ÷ this. */
  expectedReplicas: z.number().int().positive().optional(),
  /** Waiters per scope before new callers are refused. */
  maxQueue: z.number().int().positive().default(1000),
  /** Longest a caller waits in the queue (ms), also capped by the call deadline. */
  maxWaitMs: z.number().int().nonnegative().default(30_000),
  /** Which calls share a limit. */
  scope: z.enum(['provider', 'provider+model']).default('provider+model'),
  /** Output tokens reserved when a request sets no `maxTokens`. */
  defaultOutputTokens: z.number().int().positive().default(1024),
  /** Pause after a provider 429 without `retry-after` (ms). */
  defaultPauseMs: z.number().int().positive().default(1000),
  /** Follow provider rate-limit headers and 429s. */
  adaptive: z.boolean().default(true),
  /** Limits by provider name (the gateway fills it from `providers.<name>.limits`). */
  limits: z.record(z.string(), limitsSchema).default({}),
});

export type LimiterConfig = z.infer<typeof limiterConfigSchema>;

/** The `limiter` middleware plugin. `store: redis` creates the `redis` store plugin (install `@bulwark/limiter-redis`). */
export const plugin: PluginDescriptor<'middleware', LimiterConfig> = {
  specificationVersion: 'v1',
  kind: 'middleware',
  name: 'limiter',
  packageName: '@bulwark/limiter',
  description: 'Requests/tokens per minute and concurrency per target, with a bounded priority queue.',
  configSchema: limiterConfigSchema,
  async create(config, context) {
    let store: LimiterStoreV1 | undefined;
    if (config.store !== 'memory') {
      const storeConfig: Record<string, unknown> = {};
      if (config.url !== undefined) storeConfig.url = config.url;
      if (config.keyPrefix !== undefined) storeConfig.keyPrefix = config.keyPrefix;
      if (config.failMode !== undefined) storeConfig.failMode = config.failMode;
      if (config.expectedReplicas !== undefined) storeConfig.expectedReplicas = config.expectedReplicas;
      store = (await context.create(
        'store',
        config.store,
        storeConfig,
        `${context.path}.store`,
      )) as LimiterStoreV1;
    }
    return createRateLimiter({
      limits: config.limits,
      scope: config.scope,
      store,
      maxQueue: config.maxQueue,
      maxWaitMs: config.maxWaitMs,
      defaultOutputTokens: config.defaultOutputTokens,
      defaultPauseMs: config.defaultPauseMs,
      adaptive: config.adaptive,
      clock: context.clock,
    });
  },
};
