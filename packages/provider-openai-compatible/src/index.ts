export type { OpenAICompatibleProviderOptions } from './openai-compatible-provider.js';
export { createOpenAICompatibleProvider } from './openai-compatible-provider.js';
export type { OpenAICompatibleProviderConfig } from './plugin.js';
export { openAICompatibleConfigSchema, plugin } from './plugin.js';
export type { MaxTokensField } from './wire-mapping.js';
