export { otelConfigSchema, plugin } from './plugin.js';
export type { Tracing, TracingOptions } from './tracing.js';
export { attributeNames, createTracing } from './tracing.js';
