export type { GatewayConfig, GatewayConfigInput } from './config/config-schema.js';
export { gatewayConfigSchema } from './config/config-schema.js';
export { defaultConfig } from './config/default-config.js';
export {
  loadConfigFile,
  parseConfigText,
  readConfigFile,
  substituteEnv,
  validateGatewayConfig,
} from './config/load-config.js';
export { anthropicFormat, parseAnthropicRequest } from './formats/anthropic-format.js';
export type { ClientFormat, ParsedClientRequest, StreamEncoder } from './formats/client-format.js';
export { openAIFormat, parseOpenAIRequest } from './formats/openai-format.js';
export type { Gateway, GatewayOptions } from './gateway.js';
export { createGateway, startGateway } from './gateway.js';
export type { GatewayMetrics, GatewayMetricsOptions } from './metrics/gateway-metrics.js';
export { createGatewayMetrics } from './metrics/gateway-metrics.js';
export type { MetricLabelNames } from './metrics/metric-names.js';
export { metricNamesFromConfig } from './metrics/metric-names.js';
export type { BuildPlanOptions, GatewayPlan, PlanDescription } from './plan/build-plan.js';
export { buildPlan, middlewareSections } from './plan/build-plan.js';
export { builtinPlugins, lazyBuiltinProviders } from './plan/builtin-plugins.js';
