import type { PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import { createAttemptTimeout } from './attempt-timeout.js';
import { createDeadline } from './deadline.js';

/** The default total deadline per call of the `deadline` plugin: two minutes, retries and fallbacks included. */
export const defaultTotalMs = 120_000;

/**
 * Config of the `timeout` middleware plugin. The gateway's `timeout:` section is shared by both plugins
 * of this package, so each accepts the other's key: `totalMs` is the deadline's and is ignored here.
 */
export const attemptTimeoutConfigSchema = z.strictObject({
  /** Longest wait for the first output of an attempt (ms). */
  firstTokenMs: z.number().min(0).optional(),
  /** Longest silence between two stream events of an attempt (ms). */
  idleMs: z.number().min(0).optional(),
  /** The `deadline` plugin's key (same section); ignored here. */
  totalMs: z.number().positive().optional(),
});

/**
 * Config of the `deadline` middleware plugin. It shares the `timeout:` section with the `timeout` plugin,
 * so it accepts (and ignores) the per-attempt keys.
 */
export const deadlineConfigSchema = z.strictObject({
  /** Total time per call (ms). Default 120 000. */
  totalMs: z.number().positive().default(defaultTotalMs),
  /** The `timeout` plugin's key (same section); ignored here. */
  firstTokenMs: z.number().min(0).optional(),
  /** The `timeout` plugin's key (same section); ignored here. */
  idleMs: z.number().min(0).optional(),
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
