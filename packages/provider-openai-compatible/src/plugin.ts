import type { PluginDescriptor } from '@bulwark/core';
import { providerPlugin } from '@bulwark/provider-utils';
import { z } from 'zod';
import { createOpenAICompatibleProvider } from './openai-compatible-provider.js';

/**
 * Config of the `openai-compatible` provider plugin: the options that can be written in a config file
 * (everything but `fetch`). The gateway removes its own keys (`plugin`, `limits`) before
 * validating, and the plugin names the provider after its config entry (`context.name`).
 */
export const openAICompatibleConfigSchema = z.strictObject({
  baseURL: z.url({ protocol: /^https?$/ }),
  apiKey: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  models: z.array(z.string().min(1)).optional(),
  maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).optional(),
});

export type OpenAICompatibleProviderConfig = z.infer<typeof openAICompatibleConfigSchema>;

/** The `openai-compatible` provider plugin: `providers.<name>: { plugin: openai-compatible, baseURL, … }`. */
export const plugin: PluginDescriptor<'provider', OpenAICompatibleProviderConfig> = providerPlugin({
  name: 'openai-compatible',
  packageName: '@bulwark/provider-openai-compatible',
  description: 'Any OpenAI-compatible server (vLLM, Ollama, llama.cpp, OpenRouter) on plain fetch',
  configSchema: openAICompatibleConfigSchema,
  create: createOpenAICompatibleProvider,
});
