import type { PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import { createHedgingRouter } from './hedging-router.js';

/** Config of the `hedge` routing plugin (gateway `routing: { plugin: hedge, … }`). Durations in ms. */
export const hedgeConfigSchema = z.object({
  delayMs: z.number().min(0).optional(),
  maxHedgedAttempts: z.number().int().min(0).optional(),
  reuseTargets: z.boolean().optional(),
  adaptive: z
    .object({
      percentile: z.number().gt(0).max(1).optional(),
      sampleSize: z.number().int().min(1).optional(),
      minSamples: z.number().int().min(1).optional(),
      minDelayMs: z.number().min(0).optional(),
      maxDelayMs: z.number().min(0).optional(),
    })
    .optional(),
  budget: z
    .union([
      z.literal(false),
      z.object({
        ratio: z.number().min(0).optional(),
        minPerSecond: z.number().min(0).optional(),
        maxTokens: z.number().min(1).optional(),
      }),
    ])
    .optional(),
});

export type HedgeConfig = z.infer<typeof hedgeConfigSchema>;

/** The `hedge` routing plugin: fallback routing plus budgeted hedged attempts on slow targets. */
export const plugin: PluginDescriptor<'routing', HedgeConfig> = {
  specificationVersion: 'v1',
  kind: 'routing',
  name: 'hedge',
  packageName: '@bulwark/hedge',
  description:
    'Starts a budgeted second attempt on the next target when the first is slow; first answer wins.',
  configSchema: hedgeConfigSchema,
  create(config, context) {
    return createHedgingRouter({ ...config, clock: context.clock });
  },
};
