/** Re-exported from `@bulwark/provider-utils`, where it moved. */
export { abortReason } from '@bulwark/provider-utils';
export { errorFromOpenAIAnswer, mapOpenAIError, statusForErrorType } from './error-mapping.js';
export type { OpenAIProviderOptions } from './openai-provider.js';
export { createOpenAIProvider, parseEmbeddings } from './openai-provider.js';
export type { OpenAIProviderConfig } from './plugin.js';
export { openAIConfigSchema, plugin } from './plugin.js';
export { parseOpenAIRateLimit } from './rate-limit-headers.js';
export type { OpenAIChatBody, OpenAIMappingOptions, OpenAIMessage } from './request-mapping.js';
export { toOpenAIChatBody } from './request-mapping.js';
export type { OpenAIChunk, OpenAIUsage } from './response-mapping.js';
export { mapFinishReason, mapUsage, OpenAIChunkMapper, parseOpenAIChatResponse } from './response-mapping.js';
