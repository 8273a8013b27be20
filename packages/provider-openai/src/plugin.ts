import { ConfigError, type PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import { createOpenAIProvider } from './openai-provider.js';

/**
 * Config of the `openai` provider plugin: the provider options that can be written in a config file
 * (the gateway removes its own keys such as `plugin` and `limits` before validating).
 */
export const openAIConfigSchema = z.strictObject({
  apiKey: z.string().min(1).optional(),
  baseURL: z.url({ protocol: /^https?$/ }).optional(),
  organization: z.string().min(1).optional(),
  project: z.string().min(1).optional(),
  defaultHeaders: z.record(z.string(), z.string()).optional(),
  models: z.array(z.string().min(1)).optional(),
  timeoutMs: z.int().positive().optional(),
  maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).optional(),
  includeStreamUsage: z.boolean().optional(),
  forwardMetadata: z.boolean().optional(),
  capabilities: z
    .strictObject({
      streaming: z.boolean().optional(),
      tools: z.boolean().optional(),
      vision: z.boolean().optional(),
      jsonMode: z.boolean().optional(),
      embeddings: z.boolean().optional(),
      maxContextTokens: z.int().positive().optional(),
    })
    .optional(),
});

export type OpenAIProviderConfig = z.infer<typeof openAIConfigSchema>;

/** The `openai` provider plugin: `providers.<name>: { plugin: openai, baseURL, apiKey, … }`. */
export const plugin: PluginDescriptor<'provider', OpenAIProviderConfig> = {
  specificationVersion: 'v1',
  kind: 'provider',
  name: 'openai',
  packageName: '@bulwark/provider-openai',
  description: 'OpenAI and any OpenAI-compatible server, on the official openai SDK',
  configSchema: openAIConfigSchema,
  create(config, context) {
    try {
      return createOpenAIProvider({ ...config, name: context.name });
    } catch (error) {
      if (ConfigError.isInstance(error)) {
        const path = `${context.path}.${(error as ConfigError).path}`;
        throw new ConfigError({
          path,
          message: error.message.replace(/at [\w.]+:/, `at ${path}:`),
          cause: error,
        });
      }
      throw error;
    }
  },
};
