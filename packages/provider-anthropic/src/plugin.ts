import { ConfigError, type PluginDescriptor } from '@bulwark/core';
import { z } from 'zod';
import { createAnthropicProvider } from './anthropic-provider.js';

/**
 * Config of the `anthropic` provider plugin: the provider options that can be written in a config
 * file (the gateway removes its own keys such as `plugin` and `limits` before validating).
 */
export const anthropicConfigSchema = z.strictObject({
  apiKey: z.string().min(1).optional(),
  baseURL: z.url({ protocol: /^https?$/ }).optional(),
  defaultHeaders: z.record(z.string(), z.string()).optional(),
  models: z.array(z.string().min(1)).optional(),
  defaultMaxTokens: z.int().positive().optional(),
  timeoutMs: z.int().positive().optional(),
  capabilities: z
    .strictObject({
      streaming: z.boolean().optional(),
      tools: z.boolean().optional(),
      vision: z.boolean().optional(),
      jsonMode: z.boolean().optional(),
      maxContextTokens: z.int().positive().optional(),
    })
    .optional(),
});

export type AnthropicProviderConfig = z.infer<typeof anthropicConfigSchema>;

/** The `anthropic` provider plugin: `providers.<name>: { plugin: anthropic, baseURL, apiKey, … }`. */
export const plugin: PluginDescriptor<'provider', AnthropicProviderConfig> = {
  specificationVersion: 'v1',
  kind: 'provider',
  name: 'anthropic',
  packageName: '@bulwark/provider-anthropic',
  description: 'Anthropic Messages API, on the official @anthropic-ai/sdk',
  configSchema: anthropicConfigSchema,
  create(config, context) {
    try {
      return createAnthropicProvider({ ...config, name: context.name });
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
