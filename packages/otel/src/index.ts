export { otelConfigSchema, plugin } from './plugin.js';
export { attributeNames } from './span-attributes.js';
export type { Tracing, TracingOptions } from './tracing.js';
export { createTracing } from './tracing.js';
