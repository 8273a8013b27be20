import type { PluginDescriptor } from '@bulwark/core';
import { capabilitiesConfigSchema, providerPlugin, sdkProviderConfigShape } from '@bulwark/provider-utils';
import { z } from 'zod';
import { createAnthropicProvider } from './anthropic-provider.js';

/**
 * Config of the `anthropic` provider plugin: the provider options that can be written in a config
 * file (the gateway removes its own keys such as `plugin` and `limits` before validating).
 */
export const anthropicConfigSchema = z.strictObject({
  ...sdkProviderConfigShape,
  defaultMaxTokens: z.int().positive().optional(),
  capabilities: capabilitiesConfigSchema.omit({ embeddings: true }).optional(),
});

export type AnthropicProviderConfig = z.infer<typeof anthropicConfigSchema>;

/** The `anthropic` provider plugin: `providers.<name>: { plugin: anthropic, baseURL, apiKey, … }`. */
export const plugin: PluginDescriptor<'provider', AnthropicProviderConfig> = providerPlugin({
  name: 'anthropic',
  packageName: '@bulwark/provider-anthropic',
  description: 'Anthropic Messages API, on the official @anthropic-ai/sdk',
  configSchema: anthropicConfigSchema,
  create: createAnthropicProvider,
});
