import type { PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import { createAttemptTimeout } from './attempt-timeout.js';
import { createDeadline } from './deadline.js';

/** Config of the `timeout` middleware plugin (per-attempt timeouts of the gateway's `timeout:` section). */
export const attemptTimeoutConfigSchema = z.strictObject({
  firstTokenMs: z.number().min(0).optional(),
  idleMs: z.number().min(0).optional(),
});

/** Config of the `deadline` middleware plugin (the gateway's `timeout.totalMs`). */
export const deadlineConfigSchema = z.strictObject({
  totalMs: z.number().positive(),
});

export type AttemptTimeoutConfig = z.infer<typeof attemptTimeoutConfigSchema>;
export type DeadlineConfig = z.infer<typeof deadlineConfigSchema>;

/** The `timeout` middleware plugin: first-token and idle timeouts per attempt. */
export const attemptTimeoutPlugin: PluginDescriptor<'middleware', AttemptTimeoutConfig> = {
  specificationVersion: 'v1',
  kind: 'middleware',
  name: 'timeout',
  packageName: '@bulwark/timeout',
  description: 'Per-attempt first-token and idle timeouts that abort the request and close the socket.',
  configSchema: attemptTimeoutConfigSchema,
  create(config, context) {
    return createAttemptTimeout({
      ...(config.firstTokenMs === undefined ? {} : { firstTokenMs: config.firstTokenMs }),
      ...(config.idleMs === undefined ? {} : { idleMs: config.idleMs }),
      clock: context.clock,
    });
  },
};

/** The `deadline` middleware plugin: a default total deadline per call. */
export const deadlinePlugin: PluginDescriptor<'middleware', DeadlineConfig> = {
  specificationVersion: 'v1',
  kind: 'middleware',
  name: 'deadline',
  packageName: '@bulwark/timeout',
  description: 'A default total deadline per call, retries and fallbacks included.',
  configSchema: deadlineConfigSchema,
  create(config, context) {
    return createDeadline({ totalMs: config.totalMs, clock: context.clock });
  },
};

/** Both plugins of this package: `timeout` (per attempt) and `deadline` (per call). */
export const plugins = [attemptTimeoutPlugin, deadlinePlugin] as const;
