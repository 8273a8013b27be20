/** Re-exported from `@bulwark/provider-utils`, where it moved. */
export { abortReason } from '@bulwark/provider-utils';
export type { AnthropicProviderOptions } from './anthropic-provider.js';
export { createAnthropicProvider, DEFAULT_MAX_TOKENS } from './anthropic-provider.js';
export { errorFromAnthropicAnswer, mapAnthropicError, statusForErrorType } from './error-mapping.js';
export type { AnthropicProviderConfig } from './plugin.js';
export { anthropicConfigSchema, plugin } from './plugin.js';
export { parseAnthropicRateLimit, parseResetTime } from './rate-limit-headers.js';
export type {
  AnthropicBlock,
  AnthropicMappingOptions,
  AnthropicMessage,
  AnthropicMessagesBody,
} from './request-mapping.js';
export { jsonInstruction, toAnthropicBody } from './request-mapping.js';
export type { AnthropicStreamEvent, AnthropicUsage } from './response-mapping.js';
export { AnthropicEventMapper, mapStopReason, mapUsage, parseAnthropicMessage } from './response-mapping.js';
