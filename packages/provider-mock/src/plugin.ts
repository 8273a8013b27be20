import type { PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import { mockErrorCodes } from './mock-errors.js';
import { createMockProvider } from './mock-provider.js';

const latency = z.union([
  z.number().min(0),
  z.object({ kind: z.literal('uniform'), minMs: z.number().min(0), maxMs: z.number().min(0) }),
  z.object({ kind: z.literal('exponential'), meanMs: z.number().min(0) }),
  z.object({ kind: z.literal('lognormal'), medianMs: z.number().positive(), p99Ms: z.number().positive() }),
]);

const errorCode = z.enum(mockErrorCodes as [string, ...string[]]);

const behavior = z.object({
  latencyMs: latency.optional(),
  error: errorCode.optional(),
  status: z.number().int().min(100).max(599).optional(),
  retryAfterMs: z.number().min(0).optional(),
  retryAfter: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  message: z.string().optional(),
  hang: z.boolean().optional(),
  streamCutAfter: z.number().int().min(0).optional(),
  streamStallAfter: z.number().int().min(0).optional(),
  streamErrorAfter: z.number().int().min(0).optional(),
  chunkDelayMs: latency.optional(),
  text: z.string().optional(),
});

const step = z.union([z.literal('ok'), errorCode, behavior]);

/** Config of the `mock` provider plugin (gateway `providers.<name>: { plugin: mock, … }`). */
export const mockProviderConfigSchema = z.object({
  models: z.array(z.string().min(1)).optional(),
  latencyMs: latency.optional(),
  chunkDelayMs: latency.optional(),
  chunkSize: z.number().int().positive().optional(),
  script: z.array(step).optional(),
  windows: z
    .array(
      behavior.extend({
        fromMs: z.number(),
        toMs: z.number(),
        probability: z.number().min(0).max(1).optional(),
        name: z.string().optional(),
      }),
    )
    .optional(),
  failureRate: z.number().min(0).max(1).optional(),
  failureError: z.union([errorCode, behavior]).optional(),
  seed: z.number().int().optional(),
  maxContextTokens: z.number().int().positive().optional(),
  embeddingDimensions: z.number().int().positive().optional(),
  recordCalls: z.boolean().optional(),
});

export type MockProviderConfig = z.infer<typeof mockProviderConfigSchema>;

/** The `mock` provider plugin: deterministic answers and scriptable faults, no network. */
export const plugin: PluginDescriptor<'provider', MockProviderConfig> = {
  specificationVersion: 'v1',
  kind: 'provider',
  name: 'mock',
  packageName: '@bulwark/provider-mock',
  description: 'In-process provider with deterministic answers and scriptable faults (no network, no key).',
  configSchema: mockProviderConfigSchema,
  create(config, context) {
    return createMockProvider({
      ...(config as Parameters<typeof createMockProvider>[0]),
      // A plugin instance serves a long-running host (the gateway): keeping every call would grow
      // without bound, so records are opt-in here (`callCount` still counts).
      recordCalls: config.recordCalls ?? false,
      name: context.name,
      clock: context.clock,
    });
  },
};
