import { createConfiguredStore, type PluginDescriptor, validateConfig } from '@bulwark/core';
import { z } from 'zod';
import { createRateLimiter } from './rate-limiter.js';

const limitsSchema = z.object({
  rpm: z.number().positive().optional(),
  tpm: z.number().positive().optional(),
  concurrency: z.number().int().positive().optional(),
  requestBurst: z.number().positive().optional(),
  tokenBurst: z.number().positive().optional(),
});

const moved = (key: string) =>
  z
    .never({
      error: `${key} moved into the store: write store: { plugin: redis, url, prefix, failMode, expectedReplicas }`,
    })
    .optional();

/** Config of the `limiter` middleware plugin (the gateway's `limiter:` section). */
export const limiterConfigSchema = z.object({
  /**
   * Where the limits are kept: `{ plugin: memory }` (this process, the default) or a `limiter-store`
   * plugin with its options, e.g. `{ plugin: redis, url, prefix, failMode, expectedReplicas }` from
   * `@bulwark/redis-stores`.
   */
  store: z
    .looseObject(
      { plugin: z.string().min(1) },
      { error: 'store must be an object: { plugin: memory } or { plugin: redis, url, prefix }' },
    )
    .optional(),
  url: moved('url'),
  keyPrefix: moved('keyPrefix'),
  failMode: moved('failMode'),
  expectedReplicas: moved('expectedReplicas'),
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
  /**
   * Limits by provider name. The host's per-provider `limits` (the gateway's `providers.<name>.limits`,
   * read from the plugin context) apply first; an entry here replaces that provider's.
   */
  limits: z.record(z.string(), limitsSchema).default({}),
});

export type LimiterConfig = z.infer<typeof limiterConfigSchema>;

/** The `limiter` middleware plugin. `store: { plugin: redis }` creates the `redis` limiter-store plugin (`@bulwark/redis-stores`). */
export const plugin: PluginDescriptor<'middleware', LimiterConfig> = {
  specificationVersion: 'v1',
  kind: 'middleware',
  name: 'limiter',
  packageName: '@bulwark/limiter',
  description: 'Requests/tokens per minute and concurrency per target, with a bounded priority queue.',
  configSchema: limiterConfigSchema,
  async create(config, context) {
    const store = await createConfiguredStore(context, 'limiter-store', config.store);
    const limits: Record<string, z.infer<typeof limitsSchema>> = {};
    for (const [name, provider] of context.providers ?? []) {
      if (provider.limits === undefined) continue;
      limits[name] = await validateConfig(limitsSchema, provider.limits, `providers.${name}.limits`);
    }
    return createRateLimiter({
      limits: { ...limits, ...config.limits },
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
