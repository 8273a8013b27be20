import type { PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import { createRetry } from './retry-policy.js';

/** Config of the `retry` middleware plugin (gateway `retry:` section). */
export const retryConfigSchema = z.strictObject({
  maxAttempts: z.number().int().min(1).optional(),
  baseDelayMs: z.number().min(0).optional(),
  maxDelayMs: z.number().min(0).optional(),
  jitter: z.enum(['full', 'decorrelated', 'equal', 'none']).optional(),
  retryAfterCapMs: z.number().min(0).optional(),
  budget: z
    .union([
      z.literal(false),
      z.strictObject({
        ratio: z.number().min(0).optional(),
        minPerSecond: z.number().min(0).optional(),
        maxTokens: z.number().min(1).optional(),
      }),
    ])
    .optional(),
});

export type RetryConfig = z.infer<typeof retryConfigSchema>;

/** The `retry` middleware plugin. */
export const plugin: PluginDescriptor<'middleware', RetryConfig> = {
  specificationVersion: 'v1',
  kind: 'middleware',
  name: 'retry',
  packageName: '@bulwark/retry',
  description:
    'Retries with full-jitter backoff, retry-after floors, a retry budget and stream commit rules.',
  configSchema: retryConfigSchema,
  create(config, context) {
    const { budget, ...rest } = config;
    return createRetry({
      ...Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)),
      ...(budget === undefined ? {} : { budget }),
      clock: context.clock,
    });
  },
};
