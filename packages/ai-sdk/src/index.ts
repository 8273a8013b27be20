export type { AISDKProviderOptions } from './aisdk-provider.js';
export { createAISDKProvider } from './aisdk-provider.js';
export type { AISDKErrorScope } from './error-mapping.js';
export { errorFromAISDK } from './error-mapping.js';
export type {
  AISDKCallOptions,
  AISDKFinishReason,
  AISDKLanguageModel,
  AISDKStreamPart,
  AISDKUsage,
  SupportedSpecification,
} from './spec.js';
export { supportedSpecifications } from './spec.js';
