import type { PluginDescriptor } from '@bulwark/core';
import { providerPlugin, sdkProviderConfigShape } from '@bulwark/provider-utils';
import { z } from 'zod';
import { createOpenAIProvider } from './openai-provider.js';

/**
 * Config of the `openai` provider plugin: the provider options that can be written in a config file
 * (the gateway removes its own keys such as `plugin` and `limits` before validating).
 */
export const openAIConfigSchema = z.strictObject({
  ...sdkProviderConfigShape,
  organization: z.string().min(1).optional(),
  project: z.string().min(1).optional(),
  maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).optional(),
  includeStreamUsage: z.boolean().optional(),
  forwardMetadata: z.boolean().optional(),
  /** `responses`: call OpenAI's Responses API instead of Chat Completions. */
  api: z.enum(['chat', 'responses']).optional(),
  /** Models that always use the Responses API. */
  responsesModels: z.array(z.string().min(1)).optional(),
  /** The upstream serves the Responses API (default: true on api.openai.com, false for another baseURL). */
  responses: z.boolean().optional(),
});

export type OpenAIProviderConfig = z.infer<typeof openAIConfigSchema>;

/** The `openai` provider plugin: `providers.<name>: { plugin: openai, baseURL, apiKey, … }`. */
export const plugin: PluginDescriptor<'provider', OpenAIProviderConfig> = providerPlugin({
  name: 'openai',
  packageName: '@bulwark/provider-openai',
  description: 'OpenAI and any OpenAI-compatible server, on the official openai SDK',
  configSchema: openAIConfigSchema,
  create: createOpenAIProvider,
});
