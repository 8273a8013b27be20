export type { AISDKProviderOptions } from './aisdk-provider.js';
export { createAISDKProvider } from './aisdk-provider.js';
export type { BulwarkMiddlewareOptions } from './bulwark-middleware.js';
export { bulwarkMiddleware } from './bulwark-middleware.js';
export type {
  BulwarkCallProviderOptions,
  BulwarkModelOptions,
  BulwarkProviderMetadata,
} from './bulwark-model.js';
export { bulwarkModel } from './bulwark-model.js';
export type { AISDKErrorScope } from './error-mapping.js';
export { errorFromAISDK } from './error-mapping.js';
export type { AISDKProviderConfig } from './plugin.js';
export { aiSdkConfigSchema, createAISDKProviderFromConfig, plugin } from './plugin.js';
export { fromCallOptions, fromPrompt } from './prompt-to-request.js';
export type {
  AISDKCallOptions,
  AISDKFinishReason,
  AISDKLanguageModel,
  AISDKStreamPart,
  AISDKUsage,
  SupportedSpecification,
} from './spec.js';
export { supportedSpecifications } from './spec.js';
