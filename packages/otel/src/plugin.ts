import type { PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import { createTracing } from './tracing.js';

/** Config of the `otel` middleware (in the gateway: `middleware: [{ plugin: otel, config }]`). The tracer comes from the globally registered provider. */
export const otelConfigSchema = z.strictObject({
  /** Record prompts and completions on the call span. Default false. */
  recordContent: z.boolean().optional(),
});

/**
 * Middleware plugin `otel`: a span per call and one per attempt (from the attempt events). Register an
 * OpenTelemetry SDK (NodeSDK, a TracerProvider) in the host process; this library only uses the API.
 */
export const plugin: PluginDescriptor<'middleware', z.infer<typeof otelConfigSchema>> = {
  specificationVersion: 'v1',
  kind: 'middleware',
  name: 'otel',
  packageName: '@bulwark/otel',
  description: 'OpenTelemetry spans per call and per attempt with the GenAI semantic conventions.',
  configSchema: otelConfigSchema,
  create(config, context) {
    return createTracing({
      events: context.events,
      ...(config.recordContent === undefined ? {} : { recordContent: config.recordContent }),
    });
  },
};
